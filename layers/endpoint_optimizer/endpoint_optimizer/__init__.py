"""sagemaker-endpoint-optimizer: the domain package shared by every Lambda and the CLI."""

__version__ = "0.1.0"
