"""The lake: one interface over a local directory or an S3/MinIO bucket (fsspec).

Layers (bronze, silver, gold, cold, quarantine: `validation.catalog.Layer`) are prefixes of
one root, or one bucket each; the audit trail's mirror is a sixth root beside them (`audit/`,
the "audit" bucket if COFRE_LAKE_BUCKETS names one, else `_audit/` in the gold bucket).
Writes are atomic (local: write a temporary file, then link or rename it into place; S3: a
PUT is all-or-nothing). Bronze is immutable: writing different bytes to an existing bronze key
raises `ImmutableObjectError`, writing identical bytes is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec

from blocks.errors import ConfigurationError, ImmutableObjectError, LakeError
from blocks.lake.files import CHUNK, changed_error, copy_file, sha256_bytes, sha256_file
from blocks.secrets.input_authority import refuse_unsealed_lake
from blocks.secrets.sealed_authority import authorised_s3_endpoint, endpoint_shown, same_endpoint
from blocks.settings import CofreSettings
from validation.catalog import IMMUTABLE_LAYERS, LAYERS, Layer


@dataclass(frozen=True)
class LakeObject:
    """What a write produced: where, what content, and whether bytes actually moved."""

    layer: Layer
    key: str
    url: str
    sha256: str
    size: int
    written: bool


class Lake:
    """A medallion lake rooted on a filesystem. Build one with `Lake.from_url`.

    `roots` maps each data layer to its root; the audit mirror's root, when not given, is
    placed beside them (`_audit_root`)."""

    def __init__(self, fs: Any, roots: Mapping[str, str], *, scheme: str) -> None:
        self.fs = fs
        self.roots: dict[Layer, str] = {Layer(layer): root for layer, root in roots.items()}
        self.roots.setdefault(Layer.AUDIT, _audit_root(self.roots))
        self.scheme = scheme

    @property
    def is_local(self) -> bool:
        return self.scheme == "file"

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        buckets: Mapping[str, str] | None = None,
        endpoint_url: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        sse: str = "AES256",
    ) -> Lake:
        """A lake at `url`: a local path, `file://...`, or `s3://bucket[/prefix]`.

        With `buckets` (layer -> bucket name) each layer is its own bucket, as the seed had.
        """
        if url.startswith("s3://") or buckets:
            return cls._s3(url, buckets, endpoint_url, storage_options or {}, sse)
        root = Path(url.removeprefix("file://")).expanduser().resolve()
        fs = fsspec.filesystem("file", auto_mkdir=True)
        return cls(fs, {layer: str(root / layer) for layer in LAYERS}, scheme="file")

    @classmethod
    def _s3(cls, url, buckets, endpoint_url, storage_options, sse) -> Lake:
        import s3fs  # only needed for S3 lakes

        options: dict[str, Any] = {"skip_instance_cache": True, **storage_options}
        client_kwargs = dict(options.get("client_kwargs") or {})
        sealed = client_kwargs.get("endpoint_url")  # a credentials block's own endpoint
        if endpoint_url and sealed and not same_endpoint(endpoint_url, sealed):
            raise ConfigurationError(
                f"The S3 endpoint {endpoint_shown(endpoint_url)} differs from the one the "
                f"credentials were given for ({endpoint_shown(sealed)}); nothing was "
                "connected. Use the credentials' own endpoint "
                "(see blocks/secrets/sealed_authority.py)."
            )
        if endpoint_url and not sealed:
            client_kwargs["endpoint_url"] = endpoint_url
        options["client_kwargs"] = client_kwargs
        if sse != "none":
            # Applied by s3fs to every call that accepts it: PutObject, multipart, CopyObject.
            options.setdefault("s3_additional_kwargs", {})["ServerSideEncryption"] = sse
        fs = s3fs.S3FileSystem(**options)
        if buckets:
            missing = [str(layer) for layer in LAYERS if layer not in buckets]
            if missing:
                raise ConfigurationError(
                    f"COFRE_LAKE_BUCKETS lacks a bucket for layer(s) {missing}; give one "
                    f'bucket per layer, e.g. {{"bronze": "bronze-layer", ...}}.'
                )
            roots = {layer: buckets[layer] for layer in LAYERS}
            if buckets.get(Layer.AUDIT):
                roots[Layer.AUDIT] = buckets[Layer.AUDIT].strip("/")
            return cls(fs, roots, scheme="s3")
        base = url.removeprefix("s3://").strip("/")
        if not base:
            raise ConfigurationError(f"Lake URL {url!r} names no bucket: use s3://bucket[/prefix].")
        return cls(fs, {layer: f"{base}/{layer}" for layer in LAYERS}, scheme="s3")

    @classmethod
    def from_settings(cls, settings: CofreSettings) -> Lake:
        """The lake the settings describe, with S3 credentials from the encrypted block.

        An S3 lake's endpoint is the sealed one (blocks/secrets/sealed_authority.py):
        the credentials
        block's, else the config's; a setting asking for another is refused (audited) before
        anything is decrypted or connected. A sealed `lake_url` / `lake_buckets` in the config
        is the only lake it may be (blocks/secrets/input_authority.py)."""
        refuse_unsealed_lake(settings)  # before the credentials block is even read
        storage_options: dict[str, Any] = {}
        creds = None
        if settings.s3_credentials_block:
            from blocks.secrets.credentials import S3Credentials  # decrypts in this process only

            creds = S3Credentials.require(settings.s3_credentials_block)  # seal first
        endpoint_url = settings.s3_endpoint_url
        if settings.lake_buckets or settings.resolved_lake_url.startswith("s3://"):
            endpoint_url = authorised_s3_endpoint(settings, creds)
        if creds is not None:
            storage_options = creds.s3fs_options()
        return cls.from_url(
            settings.resolved_lake_url,
            buckets=settings.lake_buckets,
            endpoint_url=endpoint_url,
            storage_options=storage_options,
            sse=settings.s3_sse,
        )

    # -- addressing ---------------------------------------------------------------------
    def path(self, layer: Layer, key: str = "") -> str:
        """The filesystem path of `key` in `layer`. Raises LakeError for a name that is not
        a `Layer` of this lake, or a key climbing out of its layer."""
        if layer not in self.roots:
            known = ", ".join(self.roots)
            raise LakeError(f"Unknown lake layer {layer!r}; the lake's roots are {known}.")
        key = key.strip("/")
        if ".." in key.split("/"):
            raise LakeError(f"Lake key {key!r} may not contain '..'.")
        return f"{self.roots[layer]}/{key}" if key else self.roots[layer]

    def url(self, layer: Layer, key: str = "") -> str:
        return f"{self.scheme}://{self.path(layer, key)}"

    def ensure_buckets(self) -> None:
        """Create the S3 bucket(s) if missing (no-op for a local lake)."""
        if self.is_local:
            return
        data = [self.roots[layer] for layer in LAYERS if layer in self.roots]
        for bucket in {root.split("/")[0] for root in data}:
            if not self.fs.exists(bucket):
                self.fs.mkdir(bucket)

    # -- reads --------------------------------------------------------------------------
    def exists(self, layer: Layer, key: str) -> bool:
        return self.fs.exists(self.path(layer, key))

    def read_bytes(self, layer: Layer, key: str) -> bytes:
        try:
            return self.fs.cat_file(self.path(layer, key))
        except FileNotFoundError as exc:
            raise LakeError(f"No lake object at {self.url(layer, key)}.") from exc

    def size(self, layer: Layer, key: str) -> int:
        return int(self.fs.info(self.path(layer, key))["size"])

    def sha256(self, layer: Layer, key: str) -> str:
        digest = hashlib.sha256()
        with self.fs.open(self.path(layer, key), "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def keys(self, layer: Layer, prefix: str = "") -> list[str]:
        """Every object key under `prefix` in `layer`, sorted, relative to the layer root."""
        base = self.path(layer, prefix)
        if not self.fs.exists(base):
            return []
        root = self.roots[layer].rstrip("/") + "/"
        found = self.fs.find(base)
        return sorted(p.removeprefix(root) for p in found if not _is_temporary(p))

    def layer_size(self, layer: Layer) -> int:
        return sum(int(info["size"]) for info in self._infos(layer))

    def _infos(self, layer: Layer) -> Iterator[dict[str, Any]]:
        base = self.path(layer)
        if self.fs.exists(base):
            yield from self.fs.find(base, detail=True).values()

    # -- writes -------------------------------------------------------------------------
    def write_bytes(
        self, layer: Layer, key: str, data: bytes, *, immutable: bool | None = None
    ) -> LakeObject:
        """Atomically write `data`; in an immutable layer an identical object is a no-op."""
        digest = sha256_bytes(data)
        if self._unchanged(layer, key, digest, immutable):
            return LakeObject(layer, key, self.url(layer, key), digest, len(data), written=False)
        target = self.path(layer, key)
        if self.is_local:
            self._local_atomic(target, lambda tmp: Path(tmp).write_bytes(data), layer)
        else:
            self.fs.pipe_file(target, data)
        return LakeObject(layer, key, self.url(layer, key), digest, len(data), written=True)

    def put_file(
        self,
        layer: Layer,
        key: str,
        local_path: Path | str,
        *,
        immutable: bool | None = None,
        sha256: tuple[str, int] | None = None,
    ) -> LakeObject:
        """Atomically upload a local file, streaming it (large CSVs never sit in memory).

        `sha256`: the file's (sha256 hex, size) when the caller has just computed them. On a
        local lake the file is then read once, hashed as it is copied, and the copy published
        only if it has exactly those bytes; on S3 it is hashed and compared before the
        upload. A file that changed since raises `LakeError` and nothing is written.
        """
        digest, size = sha256 if sha256 is not None else sha256_file(local_path)
        if self._unchanged(layer, key, digest, immutable):
            return LakeObject(layer, key, self.url(layer, key), digest, size, written=False)
        target = self.path(layer, key)
        if self.is_local:
            expected = digest if sha256 is not None else None
            self._local_atomic(target, lambda tmp: copy_file(local_path, tmp, expected), layer)
        else:
            if sha256 is not None and sha256_file(local_path)[0] != digest:
                raise changed_error(local_path, self.url(layer, key))
            self.fs.put_file(str(local_path), target)
        return LakeObject(layer, key, self.url(layer, key), digest, size, written=True)

    def copy_between(self, source_layer: Layer, target_layer: Layer, key: str) -> None:
        """Copy an object to the same key in another layer (server-side on S3)."""
        source, target = self.path(source_layer, key), self.path(target_layer, key)
        if self.is_local:
            self._local_atomic(target, lambda tmp: copy_file(source, tmp), target_layer)
        else:
            self.fs.copy(source, target)

    def s3_client(self) -> Any:
        """A boto3 S3 client with this lake's endpoint and credentials (S3 lakes only), from
        prefect-aws's `AwsCredentials` built here at run time from the values the lake was
        opened with (decrypted from Cofre's block, or the AWS chain when they are None). It is
        never saved: the Prefect database holds Cofre's ciphertext block, not this one."""
        from prefect_aws import AwsCredentials
        from prefect_aws.client_parameters import AwsClientParameters

        client_kwargs = self.fs.client_kwargs or {}
        config = dict(getattr(self.fs, "config_kwargs", None) or {})  # a block's: sealed only
        credentials = AwsCredentials(
            aws_access_key_id=self.fs.key,
            aws_secret_access_key=self.fs.secret,
            region_name=client_kwargs.get("region_name"),
            aws_client_parameters=AwsClientParameters(
                endpoint_url=client_kwargs.get("endpoint_url"), config=config or None
            ),
        )
        return credentials.get_s3_client()

    def delete(self, layer: Layer, key: str) -> None:
        path = self.path(layer, key)
        if self.fs.exists(path):
            self.fs.rm_file(path)

    def _unchanged(self, layer: Layer, key: str, digest: str, immutable: bool | None) -> bool:
        """True when an immutable key already holds these bytes; raise if it holds others."""
        if immutable is None:
            immutable = layer in IMMUTABLE_LAYERS
        if not immutable or not self.exists(layer, key):
            return False
        existing = self.sha256(layer, key)
        if existing != digest:
            raise ImmutableObjectError(
                f"{self.url(layer, key)} already exists with different content "
                f"(sha256 {existing[:12]}…, new {digest[:12]}…). Bronze is immutable: land the "
                "new content under a new run_id instead of rewriting history."
            )
        return True

    def _local_atomic(self, target: str, fill: Any, layer: Layer) -> None:
        directory = os.path.dirname(target)
        os.makedirs(directory, exist_ok=True)
        tmp = os.path.join(directory, f".{os.path.basename(target)}.tmp-{uuid.uuid4().hex}")
        try:
            fill(tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            if layer in IMMUTABLE_LAYERS:
                _link_no_clobber(tmp, target)
            else:
                os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _link_no_clobber(tmp: str, target: str) -> None:
    # A hard link fails if the target exists, so two racing writers cannot overwrite bronze.
    try:
        os.link(tmp, target)
    except FileExistsError as exc:
        raise ImmutableObjectError(
            f"{target} was created by another writer while this one was writing; re-run to "
            "compare checksums."
        ) from exc


def _is_temporary(path: str) -> bool:
    return ".tmp-" in os.path.basename(path)


def _audit_root(roots: Mapping[Layer, str]) -> str:
    """Where the audit mirror lives: beside the layers when they share a parent, else
    `_audit/` under the gold root (one bucket per layer, none named for the audit)."""
    parents = {root.rsplit("/", 1)[0] for root in roots.values() if "/" in root}
    if len(parents) == 1 and all(root.endswith(f"/{layer}") for layer, root in roots.items()):
        return f"{parents.pop()}/{Layer.AUDIT}"
    return f"{roots[Layer.GOLD].rstrip('/')}/_{Layer.AUDIT}"
