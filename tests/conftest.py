"""Root of the test suite: shared fixtures live in tests/fixtures/ as pytest plugins."""

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.kafka",
    "tests.fixtures.triton",
    "tests.fixtures.faces",
    "tests.fixtures.services",
    "tests.fixtures.rtsp",
    "tests.fixtures.s3",
    "tests.fixtures.grpc_peers",
]
