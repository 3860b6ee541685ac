"""Constants of the signed-link tests."""

VOD = "https://vod.example.org"
#: the shared secret the tests give suppliers (through an environment variable, as an operator would)
SECRET_VAR = "SESAME_TEST_LINK_SECRET"
SECRET = "vod-shared-secret-" + "7f3a9c2e4b1d8065"
#: a second active patron of Vire, so that identifiers can be compared across patrons
OTHER_CARD, OTHER_PIN = "V0003", "8642"
