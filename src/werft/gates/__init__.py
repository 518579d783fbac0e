"""werft.gates: the CI quality gates - data and model checks, reports on versions, JUnit, CI."""
