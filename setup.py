"""The one thing pyproject.toml cannot say: where lxml keeps the headers the C extension
protocol.wbxml._speedups is compiled against (lxml's public C API and libxml2's tree)."""
import lxml
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "protocol.wbxml._speedups",
            sources=["protocol/wbxml/_speedups.c"],
            include_dirs=lxml.get_include(),
        )
    ]
)
