"""The data converter shared by every client and worker (one place to add a codec)."""

from temporalio.converter import DataConverter

data_converter = DataConverter.default
