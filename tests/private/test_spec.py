"""The protocol specification of docs/private.md: test vectors, and an independent client.

tests/private/_reference_client.py is a second client written from the specification
alone (pure Python, no code shared with bigclust.private). Both must produce the same
public values, fingerprints and report bytes; the test vectors printed in the docs must
be the ones the code produces.
"""

import dataclasses
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigclust.private import Decoder, Encoder, ProtocolParams, RandomSource
from bigclust.private import _public

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _reference_client as R  # noqa: E402

DOC = (Path(__file__).resolve().parents[2] / "docs" / "private.md").read_text()

P1 = ProtocolParams(n_features=3, epsilon=1.0, n_levels=4, bucket_bits=3, radius=2.0, center=(0.5, -1.0, 0.0))
P2 = ProtocolParams(n_features=3, epsilon=2.5, tree="net", n_levels=3, bucket_bits=6, projection_dim=2,
                    histogram_mechanism="olh", vector_mechanism="coordinate", radius="unit")
POINTS = [[0.9, -0.2, 0.4], [-1.5, 2.0, 0.3], [3.0, -1.0, 1.0], [0.1, 0.1, -0.1]]

VECTORS = {
    "stream_message": "626967636c7573742f707269766174652f76322f73696d686173682d6879706572706c616e65732f"
                      "e8070000000000000000000000000000",
    "stream_block0": "fbcec05dc53b75a7eaa89a022cea6f320f715ad90ce9ae6bbc96a75b7be5b797",
    "hyperplanes": [[-1581003575, 5357014019, -2046128], [2603746747, -4571278907, 2884501750]],
    "multipliers": [6927564077964774061, 3277615708011145071],
    "net_key": 7989605115156778829,
    "projection": [["bf84e4759675fe47", "bfed074353c719b1", "3fdaecf4b81773d9"],
                   ["3fe13aa9c5642ba2", "3fd65f1c1d4f4410", "3fe88951a65fa973"]],
    "digest1": "28854293d60736f4ab265405c624b1a16558e7a66e2c56fb2cbada81b22abcd4",
    "digest2": "56c1cc0ed6fc7d90e6ede12016913178eec46ec6eb9a2fbb69387a01e3756fc6",
    "fingerprint1": 0x93428528,
    "fingerprint2": 0x0ECCC156,
    "private_stream1": "6bd496d69e97b14a6f2b4b61ebb5bdfb",
    "reports1": ["02040401288542930700000002000000eb100e789e87d92c", "02040400288542930100000006000000f16856a6cba664f9",
                 "02020401288542930000000003000000c3e7738a01bfab2e", "0202040128854293010000000300000091b7223740f9cfa0"],
    "reports2": ["0202030c56c1cc0e16fa0afe270000000100000000000000", "0201010c56c1cc0e3d1a334d290000000000000000000000",
                 "0203010e56c1cc0ed2a1f8c7290000000100000000000000", "0202020a56c1cc0e97d5e630030000000000000000000000"],
}


def _ref_params(p: ProtocolParams) -> R.Params:
    dp, lam = p.net_dims() if p.tree == "net" else (None, None)
    return R.Params(p.n_features, p.epsilon, p.n_levels, p.tree, p.bucket_bits, p.resolved_histogram_levels(),
                    p.resolved_vector_levels(), p.resolved_histogram_share(), p.histogram_mechanism,
                    p.vector_mechanism, p.radius, None if p.center is None else list(p.center), dp, lam)


def test_public_stream_and_derivations_match_the_vectors():
    head = _public.STREAM_PREFIX + b"simhash-hyperplanes/" + (2024).to_bytes(8, "little") + bytes(8)
    assert head.hex() == VECTORS["stream_message"]
    assert _public.stream_bytes(2024, "simhash-hyperplanes", 32).hex() == VECTORS["stream_block0"]
    assert _public.hyperplanes(2024, 2, 3).tolist() == VECTORS["hyperplanes"]
    assert _public.multipliers(2024, 2).tolist() == VECTORS["multipliers"]
    assert _public.net_key(7) == VECTORS["net_key"]
    assert [[_public.float_hex(v) for v in r] for r in _public.projection(7, 2, 3)] == VECTORS["projection"]
    # the reference client, from the document alone, gets the same values
    assert [list(r) for r in R.hyperplanes(2024, 2, 3)] == VECTORS["hyperplanes"]
    assert list(R.multipliers(2024, 2)) == VECTORS["multipliers"] and R.net_key(7) == VECTORS["net_key"]
    assert [[R.fhex(v) for v in r] for r in R.projection(7, 2, 3)] == VECTORS["projection"]
    # prefixes of a stream do not depend on how much is read
    assert _public.stream_bytes(2024, "simhash-hyperplanes", 100)[:32].hex() == VECTORS["stream_block0"]
    np.testing.assert_allclose(_public.projection(7, 2, 3) @ _public.projection(7, 2, 3).T, np.eye(2), atol=1e-15)


def test_fingerprints_and_reports_match_the_vectors():
    assert P1.digest(2024).hex() == VECTORS["digest1"] and P2.digest(7).hex() == VECTORS["digest2"]
    assert P1.fingerprint(2024) == VECTORS["fingerprint1"] and P2.fingerprint(7) == VECTORS["fingerprint2"]
    assert RandomSource.test_stream(1).random_bytes(16).hex() == VECTORS["private_stream1"]
    for p, seed, priv, key in ((P1, 2024, 1, "reports1"), (P2, 7, 2, "reports2")):
        enc = Encoder(p, seed, random_source=RandomSource.test_stream(priv))
        assert [enc.encode(np.array(x)).hex() for x in POINTS] == VECTORS[key]
        ref = R.Private(priv)
        assert [R.encode(_ref_params(p), seed, x, ref).hex() for x in POINTS] == VECTORS[key]
        assert p.canonical(seed) == _ref_params(p).canonical(seed)
        Decoder(p, seed).add([bytes.fromhex(h) for h in VECTORS[key]])  # valid reports


def test_the_document_prints_the_vectors():
    flat = re.sub(r"\s+", "", DOC)
    for key, value in VECTORS.items():
        items = value if isinstance(value, list) else [value]
        for item in items:
            for v in item if isinstance(item, list) else [item]:
                text = f"{v:08x}" if key.startswith("fingerprint") else str(v)
                assert text in flat, (key, text)
    assert P1.canonical(2024).decode() in DOC and P2.canonical(7).decode() in DOC


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d=st.integers(1, 5),
    T=st.integers(1, 9),
    b=st.integers(1, 6),
    tree=st.sampled_from(["simhash", "net"]),
    hmech=st.sampled_from(["hadamard", "olh"]),
    vmech=st.sampled_from(["duchi", "coordinate"]),
    eps=st.floats(0.05, 12.0),
    share=st.floats(0.1, 0.9),
    seed=st.integers(0, 2**64 - 1),
    priv=st.integers(0, 2**32),
    centred=st.booleans(),
    data=st.data(),
)
def test_reference_client_agrees_on_any_parameters(d, T, b, tree, hmech, vmech, eps, share, seed, priv, centred, data):
    kw = {"projection_dim": data.draw(st.integers(1, min(d, 3)))} if tree == "net" else {}
    center = tuple(data.draw(st.lists(st.floats(-3, 3), min_size=d, max_size=d))) if centred else None
    p = ProtocolParams(n_features=d, epsilon=eps, n_levels=T, bucket_bits=b, tree=tree, histogram_mechanism=hmech,
                       vector_mechanism=vmech, histogram_share=share, radius=data.draw(st.floats(0.1, 10.0)),
                       center=center, **kw)
    pts = np.random.default_rng(priv).standard_normal((3, d)) * 2.0
    enc = Encoder(p, seed, random_source=RandomSource.test_stream(priv))
    ref = R.Private(priv)
    rp = _ref_params(p)
    for x in pts:
        assert enc.encode(x) == R.encode(rp, seed, list(x), ref)


def test_fingerprint_covers_every_public_parameter():
    base = ProtocolParams(n_features=3, epsilon=1.0, n_levels=6, bucket_bits=4, radius=1.5, center=(0.0, 0.0, 1.0))
    changes = {
        "n_features": dict(n_features=4, center=None),
        "epsilon": dict(epsilon=1.5),
        "n_levels": dict(n_levels=7),
        "tree": dict(tree="net"),
        "bucket_bits": dict(bucket_bits=5),
        "vector_levels": dict(vector_levels=(5, 6)),
        "histogram_levels": dict(histogram_levels=(2, 6)),
        "histogram_share": dict(histogram_share=0.4),
        "vector_mechanism": dict(vector_mechanism="coordinate"),
        "histogram_mechanism": dict(histogram_mechanism="olh"),
        "radius": dict(radius=1.5000000000000002),
        "center": dict(center=(0.0, 1e-300, 1.0)),
        "projection_dim": dict(tree="net", projection_dim=2),
        "projection_scale": dict(tree="net", projection_scale=0.7),
    }
    assert set(changes) == {f.name for f in dataclasses.fields(ProtocolParams)}
    seen = {base.fingerprint(1), base.fingerprint(2)}
    assert len(seen) == 2
    net = dataclasses.replace(base, tree="net")
    for name, change in changes.items():
        other = dataclasses.replace(base, **change)
        ref = net if name.startswith("projection") else base
        assert other.fingerprint(1) != ref.fingerprint(1), name
        seen.add(other.fingerprint(1))
    assert len(seen) == len(changes) + 2 - 0  # all distinct (tree and projection_* compare against the net base)
    # the same protocol spelled two ways has one fingerprint
    assert base.fingerprint(1) == dataclasses.replace(base, vector_levels=(6,)).fingerprint(1)
    assert base.fingerprint(1) == dataclasses.replace(base, histogram_share=0.25).fingerprint(1)


def test_public_values_do_not_come_from_numpy_generators(monkeypatch):
    # the public values are a function of the seed alone: NumPy's generators are never used
    def boom(*a, **k):
        raise AssertionError("public randomness must not use NumPy's generators")

    monkeypatch.setattr(np.random, "default_rng", boom)
    _public._hyperplanes_cached.cache_clear()
    _public._projection_cached.cache_clear()
    for p in (P1, P2):
        Encoder(p, 3, random_source=RandomSource.test_stream(0)).encode(np.zeros(3))
        Decoder(p, 3)


def test_seed_range():
    with pytest.raises(TypeError, match="public_seed"):
        Decoder(P1, 2**64)
    with pytest.raises(TypeError, match="public_seed"):
        Decoder(P1, -1)
    Decoder(P1, 2**64 - 1)


@pytest.mark.parametrize("tree", ["simhash", "net"])
def test_reference_client_agrees_on_extreme_points(tree):
    """Spec step 1's amendment for extreme rows (issue 22): |x - center| beyond ~1e154 or the float64
    range is clipped by direction, a tiny row mapped to its true image; encoder and reference agree."""
    p = ProtocolParams(n_features=3, epsilon=2.0, n_levels=6, bucket_bits=3, tree=tree, radius=1e-100,
                       center=(1e308, 0.0, -2.5))
    pts = [[-1e308, 0.0, 0.0], [1e308, 3e-101, -2.5], [1e308, 5e-324, -2.5], [1e200, 1e160, 7.0],
           [1e308, 0.0, -2.5], [0.0, 1e-300, 1e-310]]
    for priv in range(3):
        enc = Encoder(p, 11, random_source=RandomSource.test_stream(priv))
        ref = R.Private(priv)
        for x in pts:
            assert enc.encode(np.array(x)) == R.encode(_ref_params(p), 11, x, ref)
