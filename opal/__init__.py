"""The OPAL contract: OPAL's wire schemas, the PIP's data-source config, OPAL's environment.

This package never imports ``opal-common`` (it pins pydantic<2); the models in
``opal.models`` copy its field names and are checked against the real ones in
``tests/opal/test_contract.py``.
"""
