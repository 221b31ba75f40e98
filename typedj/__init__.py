"""typedj: typed, code-first DataJoint pipelines.

Tables are annotated classes; ``@schema`` turns them into DataJoint tables on a
MySQL/MariaDB server; table classes are queries; every insert is validated.
"""

from .backend.connection import Connection, connect
from .codecs import external as _stored_values  # noqa: F401  (registers attach, filepath, <blob@store>)
from .codecs import legacy as _legacy_values  # noqa: F401  (registers datajoint 0.14's blob@store, ...)
from .codecs import objects as _object_values  # noqa: F401  (registers <object@store>, <npy@store>)
from .collect import GCReport, gc
from .columns import Column, Comparison, Order, asc, col, desc
from .config import DatabaseURL, config
from .diagram import Diagram
from .drift import Difference
from .errors import (
    AccessError,
    ConfigError,
    ConfigWarning,
    ConflictError,
    ConnectionLostError,
    DatasetError,
    DeadlockError,
    DeclarationError,
    DeclarationPendingWarning,
    DriftWarning,
    DuplicateError,
    EmbeddedFallbackWarning,
    FetchError,
    IncompleteDatasetWarning,
    IntegrityError,
    MissingDependencyError,
    MissingTableError,
    NotDeclaredError,
    Problem,
    QueryError,
    QueryInterruptedError,
    ServerError,
    TypedjError,
    TypedjWarning,
    UnknownAttributeError,
    UnreachableError,
    ValidationError,
    VerificationError,
)
from .export import ExportReport, ImportReport, VerifyReport, export, import_dataset, open_dataset, verify
from .heading import Attribute, Heading
from .objects import NpyRef, ObjectRef, StagedInsert
from .populate.autopopulate import InputsChangedError, PopulateError, PopulateResult
from .populate.jobs import Jobs
from .populate.provenance import UncommittedCodeError
from .query.condition import AndList, Not, Top
from .query.expression import Query
from .query.universal import U
from .schema import Schema, list_schemas
from .sqltypes import SQLType
from .stores import CorruptObjectError, MissingObjectError, StoreError
from .table import Computed, Imported, Lookup, Manual, Part, Table
from .types import (
    CURRENT_TIMESTAMP,
    Attach,
    Attr,
    Blob,
    External,
    Filepath,
    Index,
    Key,
    KeyOf,
    Link,
    Npy,
    Object,
    Ref,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .version import __version__ as __version__
from .virtual import virtual_module

__all__ = [
    "CURRENT_TIMESTAMP",
    "AccessError",
    "AndList",
    "Attach",
    "Attr",
    "Attribute",
    "Blob",
    "Column",
    "Comparison",
    "Computed",
    "ConfigError",
    "ConfigWarning",
    "ConflictError",
    "Connection",
    "ConnectionLostError",
    "CorruptObjectError",
    "DatabaseURL",
    "DatasetError",
    "DeadlockError",
    "DeclarationError",
    "DeclarationPendingWarning",
    "Diagram",
    "Difference",
    "DriftWarning",
    "DuplicateError",
    "EmbeddedFallbackWarning",
    "ExportReport",
    "External",
    "FetchError",
    "Filepath",
    "GCReport",
    "Heading",
    "ImportReport",
    "Imported",
    "IncompleteDatasetWarning",
    "Index",
    "InputsChangedError",
    "IntegrityError",
    "Jobs",
    "Key",
    "KeyOf",
    "Link",
    "Lookup",
    "Manual",
    "MissingDependencyError",
    "MissingObjectError",
    "MissingTableError",
    "Not",
    "NotDeclaredError",
    "Npy",
    "NpyRef",
    "Object",
    "ObjectRef",
    "Order",
    "Part",
    "PopulateError",
    "PopulateResult",
    "Problem",
    "Query",
    "QueryError",
    "QueryInterruptedError",
    "Ref",
    "SQLType",
    "Schema",
    "ServerError",
    "StagedInsert",
    "StoreError",
    "Table",
    "Top",
    "TypedjError",
    "TypedjWarning",
    "U",
    "UncommittedCodeError",
    "UnknownAttributeError",
    "UnreachableError",
    "ValidationError",
    "VerificationError",
    "VerifyReport",
    "asc",
    "col",
    "config",
    "connect",
    "desc",
    "export",
    "float32",
    "float64",
    "gc",
    "import_dataset",
    "int8",
    "int16",
    "int32",
    "int64",
    "list_schemas",
    "open_dataset",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "verify",
    "virtual_module",
]
