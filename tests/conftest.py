"""The test suite's fixtures live in tests/fixtures/ (see its __init__), each module a pytest plugin.

(Each module is named here: pytest's own ``fixtures`` plugin takes that name for itself.)
"""

pytest_plugins = [
    "fixtures.servers",
    "fixtures.broker",
    "fixtures.demo",
    "fixtures.staff",
    "fixtures.stats",
    "fixtures.live",
    "fixtures.browser",
    "fixtures.logout",
    "fixtures.sigbs",
    "fixtures.openapi",
    "fixtures.routes",
]
