"""The lake on local disk and on a real S3 API (moto's HTTP server)."""

from __future__ import annotations

import hashlib
import os
import threading

import boto3
import pytest

from blocks.errors import ConfigurationError, ImmutableObjectError, LakeError
from blocks.lake import Lake
from validation.catalog import Layer


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path) -> Lake:
    if request.param == "local":
        return Lake.from_url(str(tmp_path / "lake"))
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    return Lake.from_url(f"s3://{bucket}/lake", endpoint_url=endpoint)


def test_write_then_read_round_trips_bytes(lake):
    written = lake.write_bytes("silver", "orders/part-0.parquet", b"abc")
    assert written.written and written.size == 3
    assert written.sha256 == hashlib.sha256(b"abc").hexdigest()
    assert lake.read_bytes("silver", "orders/part-0.parquet") == b"abc"
    assert lake.keys("silver") == ["orders/part-0.parquet"]


def test_bronze_rejects_different_bytes_at_an_existing_key(lake):
    lake.write_bytes("bronze", "olist/orders/x.csv", b"first")
    with pytest.raises(ImmutableObjectError, match="Bronze is immutable"):
        lake.write_bytes("bronze", "olist/orders/x.csv", b"second")
    assert lake.read_bytes("bronze", "olist/orders/x.csv") == b"first"


def test_bronze_identical_rewrite_is_a_no_op(lake):
    assert lake.write_bytes("bronze", "a/b.csv", b"same").written
    again = lake.write_bytes("bronze", "a/b.csv", b"same")
    assert not again.written
    assert lake.keys("bronze") == ["a/b.csv"]


def test_other_layers_may_be_replaced(lake):
    lake.write_bytes("gold", "t/part.parquet", b"v1")
    lake.write_bytes("gold", "t/part.parquet", b"v2")
    assert lake.read_bytes("gold", "t/part.parquet") == b"v2"


def test_put_file_streams_a_local_file(lake, tmp_path):
    source = tmp_path / "big.csv"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    result = lake.put_file("bronze", "olist/big.csv", source)
    assert result.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert lake.sha256("bronze", "olist/big.csv") == result.sha256
    assert lake.size("bronze", "olist/big.csv") == source.stat().st_size


def test_put_file_lands_only_the_bytes_the_caller_hashed(lake, tmp_path):
    """With the caller's (sha256, size) the file is hashed as it is copied (one read on a
    local lake): a file rewritten since it was hashed lands nothing, and says so."""
    source = tmp_path / "orders.csv"
    source.write_bytes(b"id\n1\n")
    checked = (hashlib.sha256(b"id\n1\n").hexdigest(), 5)
    source.write_bytes(b"id\n2\n")  # rewritten after the check, same size
    with pytest.raises(LakeError, match=r"orders\.csv changed while it was being landed"):
        lake.put_file("bronze", "olist/orders.csv", source, sha256=checked)
    assert lake.keys("bronze") == []
    if lake.is_local:  # no temporary file left behind either
        assert not [p for p in (tmp_path / "lake").rglob("*") if p.is_file()]
    source.write_bytes(b"id\n1\n")
    landed = lake.put_file("bronze", "olist/orders.csv", source, sha256=checked)
    assert (landed.sha256, landed.size, landed.written) == (*checked, True)
    assert lake.read_bytes("bronze", "olist/orders.csv") == b"id\n1\n"


def test_missing_object_names_its_url(lake):
    with pytest.raises(LakeError, match=r"nope\.csv"):
        lake.read_bytes("bronze", "nope.csv")


def test_keys_may_not_escape_the_layer(lake):
    with pytest.raises(LakeError, match=r"\.\."):
        lake.write_bytes("silver", "../bronze/x", b"x")


def test_an_unknown_layer_is_refused_and_the_audit_mirror_is_a_layer(lake, tmp_path):
    with pytest.raises(LakeError, match=r"Unknown lake layer 'platinum'"):
        lake.write_bytes("platinum", "x", b"x")
    with pytest.raises(ValueError, match="platinum"):
        Lake(lake.fs, {"platinum": str(tmp_path)}, scheme="file")
    assert set(lake.roots) == set(Layer)  # the five data layers and the audit mirror
    assert lake.path(Layer.AUDIT) == lake.path(Layer.GOLD).removesuffix("gold") + "audit"


def test_local_writes_leave_no_temporary_files(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    lake.write_bytes("silver", "d/f.bin", b"x" * 10)
    lake.write_bytes("bronze", "d/f.bin", b"y" * 10)
    leftovers = [p for p in (tmp_path / "lake").rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_local_reader_never_sees_a_partial_object(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    old, new = b"a" * 4_000_000, b"b" * 4_000_000
    lake.write_bytes("silver", "t/obj", old)
    seen: set[bytes] = set()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            data = lake.read_bytes("silver", "t/obj")
            seen.add(hashlib.sha256(data).digest())

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(20):
        lake.write_bytes("silver", "t/obj", new if i % 2 == 0 else old)
    stop.set()
    thread.join()
    assert seen <= {hashlib.sha256(old).digest(), hashlib.sha256(new).digest()}


def test_s3_writes_request_sse_aes256(moto_endpoint, s3_bucket, tmp_path):
    lake = Lake.from_url(f"s3://{s3_bucket}", endpoint_url=moto_endpoint)
    lake.write_bytes("bronze", "small.csv", b"x,y\n1,2\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * 1024 * 1024))
    lake.put_file("bronze", "big.bin", big)
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    for key in ("bronze/small.csv", "bronze/big.bin"):
        assert client.head_object(Bucket=s3_bucket, Key=key)["ServerSideEncryption"] == "AES256"


def test_s3_sse_can_be_disabled(moto_endpoint, s3_bucket):
    lake = Lake.from_url(f"s3://{s3_bucket}", endpoint_url=moto_endpoint, sse="none")
    lake.write_bytes("silver", "plain.bin", b"x")
    head = boto3.client("s3", endpoint_url=moto_endpoint).head_object(
        Bucket=s3_bucket, Key="silver/plain.bin"
    )
    assert "ServerSideEncryption" not in head


def test_one_bucket_per_layer_like_the_seed(moto_endpoint):
    buckets = {
        "bronze": "bronze-layer",
        "silver": "silver-layer",
        "gold": "gold",
        "cold": "cold-storage-layer",
        "quarantine": "quarantine-layer",
    }
    lake = Lake.from_url("s3://", buckets=buckets, endpoint_url=moto_endpoint)
    lake.ensure_buckets()
    lake.write_bytes("cold", "olist/x.csv", b"1")
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    assert client.get_object(Bucket="cold-storage-layer", Key="olist/x.csv")["Body"].read() == b"1"


def test_bucket_per_layer_needs_every_layer(moto_endpoint):
    with pytest.raises(ConfigurationError, match="quarantine"):
        Lake.from_url("s3://", buckets={"bronze": "b"}, endpoint_url=moto_endpoint)


def test_the_s3_client_comes_from_prefect_aws_credentials_built_at_run_time(
    moto_endpoint, s3_bucket, monkeypatch
):
    from prefect_aws import AwsCredentials

    built = []
    original = AwsCredentials.get_s3_client
    monkeypatch.setattr(
        AwsCredentials, "get_s3_client", lambda self: built.append(self) or original(self)
    )
    options = {"key": "AKIA-lake-probe", "secret": "SECRET-lake-probe-61c0"}
    lake = Lake.from_url(f"s3://{s3_bucket}", endpoint_url=moto_endpoint, storage_options=options)
    lake.write_bytes("bronze", "probe/a.txt", b"a")
    client = lake.s3_client()
    assert client.meta.endpoint_url == moto_endpoint
    assert client.head_object(Bucket=s3_bucket, Key="bronze/probe/a.txt")["ContentLength"] == 1
    [credentials] = built
    assert credentials.aws_access_key_id == "AKIA-lake-probe"
    assert credentials.aws_secret_access_key.get_secret_value() == "SECRET-lake-probe-61c0"
    assert "SECRET-lake-probe-61c0" not in repr(credentials)  # a SecretStr: never shown


def test_an_endpoint_never_replaces_the_one_the_credentials_came_with(moto_endpoint, s3_bucket):
    """A credentials block's options carry its sealed endpoint: another one is refused before
    anything connects; the same one (a trailing slash aside) is fine."""
    options = {
        "key": "AKIA-sealed",
        "secret": "s",
        "client_kwargs": {"endpoint_url": moto_endpoint},
    }
    with pytest.raises(ConfigurationError, match=r"differs from the one the credentials"):
        Lake.from_url(
            f"s3://{s3_bucket}", endpoint_url="http://127.0.0.1:9", storage_options=options
        )
    lake = Lake.from_url(
        f"s3://{s3_bucket}", endpoint_url=moto_endpoint + "/", storage_options=options
    )
    assert lake.fs.client_kwargs["endpoint_url"] == moto_endpoint
    lake.write_bytes("silver", "a.bin", b"a")
    assert options["client_kwargs"] == {"endpoint_url": moto_endpoint}  # not mutated


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("http://127.0.0.1:9001", "http://127.0.0.1:9001/", True),
        ("HTTP://MinIO:9000", "http://minio:9000", True),
        ("https://s3.example", "https://s3.example:443", True),
        ("http://127.0.0.1:9001", "http://127.0.0.1:9099", False),
        ("http://127.0.0.1:9001", "https://127.0.0.1:9001", False),
        ("http://minio:9000", "http://minio:9000/other", False),
        ("http://minio:9000", "http://evil@minio:9000", False),
        ("http://minio:9000", "http://minio:9000?x=1", False),
        ("http://minio:9000", None, False),
        (None, None, True),
    ],
)
def test_same_endpoint(first, second, same):
    from blocks.secrets.sealed_authority import same_endpoint

    assert same_endpoint(first, second) is same
    assert same_endpoint(second, first) is same


@pytest.mark.parametrize("size", [0, 1, 5_000_001])
@pytest.mark.parametrize("kernel", ["whole", "in pieces", "refused", "missing"])
def test_a_local_landing_copies_every_byte_however_the_kernel_helps(
    tmp_path, monkeypatch, size, kernel
):
    """The bytes move with `os.copy_file_range` when the kernel offers it; in pieces when it
    copies less than asked; through this process when it refuses (two file systems on an old
    kernel, one without the call) or on a system without it. The copy is hashed either way."""
    import blocks.lake.files as files

    if kernel == "in pieces":
        monkeypatch.setattr(files, "_KERNEL_CHUNK", 65_537)
    elif kernel == "refused":

        def refuse(*_args):
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(os, "copy_file_range", refuse)
    elif kernel == "missing":
        monkeypatch.delattr(os, "copy_file_range", raising=False)
    data = os.urandom(size)
    source = tmp_path / "orders.csv"
    source.write_bytes(data)
    lake = Lake.from_url(str(tmp_path / "lake"))
    checked = (hashlib.sha256(data).hexdigest(), size)
    landed = lake.put_file("bronze", "olist/orders.csv", source, sha256=checked)
    assert (landed.sha256, landed.size, landed.written) == (*checked, True)
    assert lake.read_bytes("bronze", "olist/orders.csv") == data
    lake.copy_between(Layer.BRONZE, Layer.COLD, "olist/orders.csv")
    assert lake.read_bytes("cold", "olist/orders.csv") == data


def test_a_kernel_copy_failing_halfway_lands_nothing(tmp_path, monkeypatch):
    """A failure after the first bytes moved (a full disk, an I/O error) is not retried
    through this process: it raises, and no object or temporary file is left."""
    real = os.copy_file_range
    calls = []

    def fail_second(source, destination, count):
        calls.append(count)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real(source, destination, 1000)

    monkeypatch.setattr(os, "copy_file_range", fail_second)
    source = tmp_path / "orders.csv"
    source.write_bytes(os.urandom(10_000))
    lake = Lake.from_url(str(tmp_path / "lake"))
    with pytest.raises(OSError, match="No space left"):
        lake.put_file("bronze", "olist/orders.csv", source)
    assert len(calls) == 2
    assert not [p for p in (tmp_path / "lake").rglob("*") if p.is_file()]


def test_a_kernel_copy_that_does_not_hash_right_is_done_again_through_python(tmp_path, monkeypatch):
    """Kernels have had copy_file_range bugs that wrote zeros: a kernel copy whose hash is
    wrong is redone through this process before the source is said to have changed."""
    real = os.copy_file_range

    def zeros(source, destination, count):
        moved = real(source, destination, count)
        if moved:
            os.pwrite(destination, b"\0" * moved, 0)
        return moved

    monkeypatch.setattr(os, "copy_file_range", zeros)
    data = os.urandom(100_000)
    source = tmp_path / "orders.csv"
    source.write_bytes(data)
    lake = Lake.from_url(str(tmp_path / "lake"))
    checked = (hashlib.sha256(data).hexdigest(), len(data))
    assert lake.put_file("bronze", "olist/orders.csv", source, sha256=checked).written
    assert lake.read_bytes("bronze", "olist/orders.csv") == data
    source.write_bytes(os.urandom(100_000))  # now the source did change: still refused
    with pytest.raises(LakeError, match="changed while it was being landed"):
        lake.put_file("bronze", "olist/other.csv", source, sha256=checked)
