"""Memory figures: Redis bytes per patron session, and Sésame workers' RSS across many logins."""

from __future__ import annotations

from statistics import mean, median


def session_bytes(redis_url: str, sids: list[str]) -> dict:
    """MEMORY USAGE of each session key (pipelined), and the server's memory per session."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        pipe = client.pipeline(transaction=False)
        for sid in sids:
            pipe.memory_usage(f"sesame:sess:{sid}", samples=0)
        sizes = [s for s in pipe.execute() if s is not None]
        sample = client.get(f"sesame:sess:{sids[0]}") if sids else None
        info = client.info("memory")
        keys = client.dbsize()
    finally:
        client.close()
    return {
        "sessions": len(sizes),
        "mean_bytes": round(mean(sizes), 1) if sizes else None,
        "median_bytes": median(sizes) if sizes else None,
        "max_bytes": max(sizes) if sizes else None,
        "value_bytes_example": len(sample) if sample else None,
        "redis_used_memory": info.get("used_memory"),
        "redis_keys": keys,
    }


def rss(pids: list[int]) -> dict[int, int]:
    """Resident set size of each process, in bytes."""
    import psutil

    out = {}
    for pid in pids:
        try:
            out[pid] = psutil.Process(pid).memory_info().rss
        except psutil.Error:
            pass
    return out
