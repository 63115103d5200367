"""Errors of the retrieval package.

Hierarchy::

    RetrievalError
    ├── MemoryConfigError               misuse: fix the settings or the call
    │   ├── InvalidCollectionNameError  Chroma refuses the collection name
    │   ├── EmbeddingMismatchError      collection was built with another embedding model
    │   ├── StoreLockedError            another process holds the local store: use server mode
    │   ├── CollectionNotFoundError     a collection to search does not exist (none is created)
    │   └── InvalidFilterError          a `where` filter this package cannot express
    ├── SourceError                     an ingest source is unusable
    │   ├── SourceNotFoundError         a path that does not exist
    │   ├── UnknownPackageError         `pkgdocs:` names a package that is not installed
    │   ├── NotARegularFileError        a FIFO, device, socket or symlink loop: reading could block
    │   ├── CorpusTooLargeError         a file or the whole corpus is over its size cap
    │   ├── EmptyCorpusError            the sources hold no readable text
    │   └── NetworkUnavailableError     a URL source with no network to fetch it
    └── StoreUnavailableError           the Chroma server cannot be reached
"""

from __future__ import annotations


class RetrievalError(Exception):
    """Base class of every error the retrieval package raises on purpose."""


class MemoryConfigError(RetrievalError):
    """The settings or the call are wrong; the message names the fix."""


class InvalidCollectionNameError(MemoryConfigError):
    """Chroma refuses the collection name (3-512 chars of [a-zA-Z0-9._-], not an IP)."""


class EmbeddingMismatchError(MemoryConfigError):
    """The collection records another embedding model or dimension than the one configured."""


class StoreLockedError(MemoryConfigError):
    """Another process has the local persistent store open; Chroma is single-process there."""


class CollectionNotFoundError(MemoryConfigError):
    """A collection asked for by name (to search it) does not exist; nothing was created."""


class InvalidFilterError(MemoryConfigError):
    """A `where` filter uses an operator or value the stores do not support."""


class SourceError(RetrievalError):
    """An ingest source cannot be read."""


class SourceNotFoundError(SourceError):
    """A file or folder source does not exist."""


class UnknownPackageError(SourceError):
    """A `pkgdocs:` source names a distribution that is not installed."""


class NotARegularFileError(SourceError):
    """A source is a FIFO, a device, a socket or a symlink loop: reading it could block or never end."""


class CorpusTooLargeError(SourceError):
    """A file or the whole corpus is over its configured size cap."""


class EmptyCorpusError(SourceError):
    """The sources produced no text to index."""


class NetworkUnavailableError(SourceError):
    """A URL source could not be fetched because there is no network."""


class StoreUnavailableError(RetrievalError):
    """The Chroma server (HTTP mode) did not answer."""
