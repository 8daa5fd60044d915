"""pytest-bdd step definitions and the scenario bindings of the features/ files."""
