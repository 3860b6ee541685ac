-- Sésame's benchmark flows for wrk.
--
--   wrk -t T -c C -d D -s flows.lua URL -- SCENARIO DATA OUT THREADS [ARG...]
--
-- "single" scenarios (ceiling, saml_sso) send one request per flow over any
-- number of connections per thread. "Chained" scenarios (saml_login,
-- oidc_code, cas_login, login) run each flow as a sequence of requests that
-- depend on the previous answers, so they need ONE connection per thread
-- (-t C -c C): request() and response() then strictly alternate.
--
-- DATA has one input per line, fields separated by "|"; thread k of T takes
-- the lines k, k+T, k+2T... and cycles through them (or stops at the end when
-- the scenario must use each line once, as "login" does). Flow latencies are
-- measured here with gettimeofday; done() writes one JSON object to OUT.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } sesame_timeval;
  int gettimeofday(sesame_timeval *tv, void *tz);
]]
local tv = ffi.new("sesame_timeval")
local function now_us()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local function split(line)
  local out = {}
  for field in string.gmatch(line, "([^|]*)|?") do
    table.insert(out, field)
  end
  return out
end

local function urlencode(s)
  return (string.gsub(s, "[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- header names as the server wrote them: "Location" from gunicorn, "location" from servers on hyper
local function location(headers)
  return headers["Location"] or headers["location"]
end

local function path_of(location)
  return (string.gsub(location or "", "^https?://[^/]+", ""))
end

local function cookie_of(headers, name)
  local value = headers["Set-Cookie"] or headers["set-cookie"]
  if value == nil then return nil end
  return string.match(value, "^" .. name .. "=([^;]*)")
end

-- per-thread state ----------------------------------------------------------------------------
local lines, cursor, once, args_extra
local step, flow, started = 0, nil, 0
flows_done, flow_errors, latencies, captured, error_kinds, exhausted = 0, 0, {}, {}, {}, false

function init(args)
  scenario, out_path = args[1], args[3]  -- globals: done() reads them from a thread
  local nthreads = tonumber(args[4])
  args_extra = { args[5], args[6], args[7], args[8] }
  once = (scenario == "login")
  lines, cursor = {}, 0
  if args[2] ~= nil and args[2] ~= "-" then
    local n = 0
    for line in io.lines(args[2]) do
      if n % nthreads == tid - 1 then table.insert(lines, line) end
      n = n + 1
    end
  end
end

local function next_line()
  if #lines == 0 then return {} end
  cursor = cursor + 1
  if cursor > #lines then
    if once then return nil end
    cursor = 1
  end
  return split(lines[cursor])
end

local function fail(kind)
  flow_errors = flow_errors + 1
  error_kinds[kind] = (error_kinds[kind] or 0) + 1
  step = 0
end

local function finish()
  flows_done = flows_done + 1
  latencies[#latencies + 1] = now_us() - started
  step = 0
end

local function get(path, headers)
  return wrk.format("GET", path, headers)
end

local FORM = "application/x-www-form-urlencoded"

-- the scenarios: build(step) → request; check(step, status, headers, body) → true when the step passed
local S = {}

S.ceiling = {
  build = function() return get("/") end,
  check = function(_, status) return status == 200, true end,
}

-- line: sid|ip   args: providerId (url-encoded)
S.saml_sso = {
  build = function()
    return get("/saml/unsolicited?providerId=" .. args_extra[1] .. "&target=" .. urlencode("https://sp.bench.example.org/r/" .. cursor),
      { ["Cookie"] = "sesame=" .. flow[1], ["X-Forwarded-For"] = flow[2] })
  end,
  check = function(_, status, _, body)
    return status == 200 and string.find(body, 'name="SAMLResponse"', 1, true) ~= nil, true
  end,
}

-- line: saml_query|library|card|pin|ip
S.saml_login = {
  build = function(n)
    local ip = flow[5]
    if n == 1 then return get("/saml/sso?" .. flow[1], { ["X-Forwarded-For"] = ip }) end
    if n == 2 then return get(flow.login, { ["X-Forwarded-For"] = ip }) end
    if n == 3 then
      local body = "csrf_token=" .. urlencode(flow.csrf) .. "&library=" .. flow[2] .. "&card=" .. flow[3]
        .. "&password=" .. flow[4] .. "&next=" .. flow.next
      return wrk.format("POST", "/login", { ["Cookie"] = "sesame=" .. flow.sid, ["X-Forwarded-For"] = ip,
        ["Content-Type"] = FORM }, body)
    end
    return get(flow.resume, { ["Cookie"] = "sesame=" .. flow.sid, ["X-Forwarded-For"] = ip })
  end,
  check = function(n, status, headers, body)
    if n == 1 then
      if status ~= 302 then return false end
      flow.login = path_of(location(headers))
      flow.next = string.match(flow.login, "[?&]next=([^&]+)")
      return flow.next ~= nil, false
    elseif n == 2 then
      flow.sid = cookie_of(headers, "sesame")
      flow.csrf = string.match(body, 'name="csrf_token" value="([^"]+)"')
      return status == 200 and flow.sid ~= nil and flow.csrf ~= nil, false
    elseif n == 3 then
      flow.sid = cookie_of(headers, "sesame") or flow.sid
      flow.resume = path_of(location(headers))
      return status == 302 and string.find(flow.resume, "/saml/resume", 1, true) ~= nil, false
    end
    return status == 200 and string.find(body, 'name="SAMLResponse"', 1, true) ~= nil, true
  end,
}

-- line: sid|ip|verifier|challenge   args: client_id, redirect_uri (encoded), basic auth header
S.oidc_code = {
  build = function(n)
    if n == 1 then
      return get("/oidc/authorize?response_type=code&client_id=" .. args_extra[1] .. "&redirect_uri=" .. args_extra[2]
        .. "&scope=openid%20library&state=s" .. cursor .. "&nonce=n" .. cursor .. "&code_challenge=" .. flow[4]
        .. "&code_challenge_method=S256", { ["Cookie"] = "sesame=" .. flow[1], ["X-Forwarded-For"] = flow[2] })
    elseif n == 2 then
      local body = "grant_type=authorization_code&code=" .. flow.code .. "&redirect_uri=" .. args_extra[2]
        .. "&code_verifier=" .. flow[3]
      return wrk.format("POST", "/oidc/token", { ["Authorization"] = args_extra[3], ["Content-Type"] = FORM,
        ["X-Forwarded-For"] = flow[2] }, body)
    end
    return get("/oidc/userinfo", { ["Authorization"] = "Bearer " .. flow.token, ["X-Forwarded-For"] = flow[2] })
  end,
  check = function(n, status, headers, body)
    if n == 1 then
      flow.code = status == 302 and string.match(location(headers) or "", "[?&]code=([^&]+)") or nil
      return flow.code ~= nil, false
    elseif n == 2 then
      flow.token = status == 200 and string.match(body, '"access_token"%s*:%s*"([^"]+)"') or nil
      return flow.token ~= nil and string.find(body, '"id_token"', 1, true) ~= nil, false
    end
    return status == 200 and string.find(body, '"sub"', 1, true) ~= nil, true
  end,
}

-- line: sid|ip   args: service base URL (raw)
S.cas_login = {
  build = function(n)
    flow.service = flow.service or urlencode(args_extra[1] .. "?r=" .. cursor)
    if n == 1 then
      return get("/cas/login?service=" .. flow.service, { ["Cookie"] = "sesame=" .. flow[1], ["X-Forwarded-For"] = flow[2] })
    end
    return get("/cas/serviceValidate?service=" .. flow.service .. "&ticket=" .. flow.ticket, { ["X-Forwarded-For"] = flow[2] })
  end,
  check = function(n, status, headers, body)
    if n == 1 then
      flow.ticket = status == 302 and string.match(location(headers) or "", "[?&]ticket=([^&]+)") or nil
      return flow.ticket ~= nil, false
    end
    return status == 200 and string.find(body, "authenticationSuccess", 1, true) ~= nil, true
  end,
}

-- line: library|card|pin|ip   (each line once: one session per patron, captured for the other scenarios)
S.login = {
  build = function(n)
    if n == 1 then return get("/login?library=" .. flow[1], { ["X-Forwarded-For"] = flow[4] }) end
    local body = "csrf_token=" .. urlencode(flow.csrf) .. "&library=" .. flow[1] .. "&card=" .. flow[2]
      .. "&password=" .. flow[3]
    return wrk.format("POST", "/login", { ["Cookie"] = "sesame=" .. flow.sid, ["X-Forwarded-For"] = flow[4],
      ["Content-Type"] = FORM }, body)
  end,
  check = function(n, status, headers, body)
    if n == 1 then
      flow.sid = cookie_of(headers, "sesame")
      flow.csrf = string.match(body, 'name="csrf_token" value="([^"]+)"')
      return status == 200 and flow.sid ~= nil and flow.csrf ~= nil, false
    end
    local sid = cookie_of(headers, "sesame")
    if status ~= 302 or sid == nil or sid == flow.sid then return false end
    if once then captured[#captured + 1] = flow[2] .. "|" .. sid end
    return true, true
  end,
}
-- the same, cycling through the patrons for a fixed time (memory growth under many logins)
S.login_loop = S.login

local idle = wrk.format("GET", "/healthz")

local SINGLE = { ceiling = true, saml_sso = true }

function request()
  local sc = S[scenario]
  if SINGLE[scenario] then
    -- several connections per thread: each request is a whole flow, timed by wrk itself
    flow = next_line()
    return sc.build(1)
  end
  if step == 0 then
    flow = next_line()
    if flow == nil then
      if not exhausted then
        exhausted = true
        local mark = io.open(out_path .. ".done." .. tid, "w")
        if mark then mark:close() end
      end
      return idle  -- nothing left to do: keep the connection busy with a cheap request until stopped
    end
    started, step = now_us(), 1
  end
  return sc.build(step)
end

function response(status, headers, body)
  if SINGLE[scenario] then
    if S[scenario].check(1, status, headers, body) then
      flows_done = flows_done + 1
    else
      flow_errors = flow_errors + 1
      local kind = scenario .. ":" .. status
      error_kinds[kind] = (error_kinds[kind] or 0) + 1
    end
    return
  end
  if step == 0 then return end
  local ok, last = S[scenario].check(step, status, headers, body)
  if not ok then
    fail(scenario .. ":step" .. step .. ":" .. status)
  elseif last then
    finish()
  else
    step = step + 1
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  scenario, out_path = threads[1]:get("scenario"), threads[1]:get("out_path")
  local all, errors, kinds, sessions = {}, 0, {}, {}
  for _, thread in ipairs(threads) do
    errors = errors + (thread:get("flow_errors") or 0)
    for _, v in ipairs(thread:get("latencies") or {}) do all[#all + 1] = v end
    for k, v in pairs(thread:get("error_kinds") or {}) do kinds[k] = (kinds[k] or 0) + v end
    for _, v in ipairs(thread:get("captured") or {}) do sessions[#sessions + 1] = v end
  end
  table.sort(all)
  local function pct(p)
    if #all == 0 then return 0 end
    return all[math.max(1, math.ceil(#all * p / 100))]
  end
  local f = assert(io.open(out_path, "w"))
  local e = summary.errors
  f:write("{")
  f:write(string.format('"duration_us": %d, "requests": %d, "bytes": %d, ', summary.duration, summary.requests, summary.bytes))
  f:write(string.format('"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "status_errors": %d, ',
    e.connect, e.read, e.write, e.timeout, e.status))
  f:write(string.format('"request_latency_us": {"p50": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}, ',
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
  local flows = #all
  for _, thread in ipairs(threads) do
    if SINGLE[scenario] then flows = flows + (thread:get("flows_done") or 0) end
  end
  f:write(string.format('"flows": %d, "flow_errors": %d, ', flows, errors))
  f:write(string.format('"flow_latency_us": {"p50": %d, "p95": %d, "p99": %d, "max": %d}, ', pct(50), pct(95), pct(99), all[#all] or 0))
  local parts = {}
  for k, v in pairs(kinds) do parts[#parts + 1] = json_string(k) .. ": " .. v end
  f:write('"error_kinds": {' .. table.concat(parts, ", ") .. '}, ')
  local caught = {}
  for i, v in ipairs(sessions) do caught[i] = json_string(v) end
  f:write('"captured": [' .. table.concat(caught, ", ") .. ']')
  f:write("}\n")
  f:close()
end
