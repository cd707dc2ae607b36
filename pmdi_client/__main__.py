"""`python -m pmdi_client`: the same as the `pmdi` console script."""

from pmdi_client.cli import main

main()
