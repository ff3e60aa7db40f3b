"""Signed tree heads: the ledger's periodic, Ed25519-signed statement "my first N entries have this root".

Signed bytes are the canonical JSON of {"format", "tree_size", "root_hash", "head_hash", "timestamp"}
(hex hashes, RFC 3339 UTC time). `head_hash` is the chain hash of entry N-1 (the genesis hash when N is
0), so the signature covers both the Merkle root and the hash chain. `key_id` is the hex SHA-256 of the
raw 32-byte public key, so a verifier can tell which key a head claims without trusting it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lfr_audit.domain.canonical import canonical_json, format_time

TREE_HEAD_FORMAT = "lfr-audit-tree-head/1"


@dataclass(frozen=True, kw_only=True)
class SignedTreeHead:
    tree_size: int
    root_hash: bytes
    head_hash: bytes
    timestamp: str
    key_id: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        return tree_head_message(self.tree_size, self.root_hash, self.head_hash, self.timestamp)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": TREE_HEAD_FORMAT,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "head_hash": self.head_hash.hex(),
            "timestamp": self.timestamp,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SignedTreeHead:
        if raw.get("format") != TREE_HEAD_FORMAT:
            raise ValueError(f"not a {TREE_HEAD_FORMAT} document")
        return cls(
            tree_size=int(raw["tree_size"]),
            root_hash=bytes.fromhex(raw["root_hash"]),
            head_hash=bytes.fromhex(raw["head_hash"]),
            timestamp=str(raw["timestamp"]),
            key_id=str(raw["key_id"]),
            signature=base64.b64decode(raw["signature"], validate=True),
        )


def tree_head_message(tree_size: int, root_hash: bytes, head_hash: bytes, timestamp: str) -> bytes:
    return canonical_json(
        {
            "format": TREE_HEAD_FORMAT,
            "tree_size": tree_size,
            "root_hash": root_hash.hex(),
            "head_hash": head_hash.hex(),
            "timestamp": timestamp,
        }
    )


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


class TreeHeadSigner:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_setting(cls, value: str) -> TreeHeadSigner:
        """From the settings value: a PEM PKCS#8 Ed25519 private key, or a base64/hex 32-byte seed."""
        return cls(load_private_key(value))

    def sign(self, tree_size: int, root_hash: bytes, head_hash: bytes, at: datetime) -> SignedTreeHead:
        timestamp = format_time(at)
        signature = self._key.sign(tree_head_message(tree_size, root_hash, head_hash, timestamp))
        return SignedTreeHead(
            tree_size=tree_size,
            root_hash=root_hash,
            head_hash=head_hash,
            timestamp=timestamp,
            key_id=self.key_id,
            signature=signature,
        )

    def public_key_pem(self) -> str:
        return public_key_pem(self.public_key)


def verify_tree_head(head: SignedTreeHead, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(head.signature, head.signed_bytes())
    except InvalidSignature:
        return False
    return True


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _raw_32(text: str) -> bytes | None:
    text = text.strip()
    for decode in (bytes.fromhex, lambda t: base64.b64decode(t, validate=True)):
        try:
            raw = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == 32:
            return raw
    return None


def load_private_key(value: str) -> Ed25519PrivateKey:
    text = value.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the tree-head signing key must be Ed25519")
        return key
    raw = _raw_32(text)
    if raw is None:
        raise ValueError("signing key: give a PEM Ed25519 private key or a 32-byte seed (hex or base64)")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_public_key(value: str | bytes) -> Ed25519PublicKey:
    """A PEM SubjectPublicKeyInfo Ed25519 key, or the raw 32 bytes as hex or base64."""
    text = value.decode("ascii") if isinstance(value, bytes) else value
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the tree-head public key must be Ed25519")
        return key
    raw = _raw_32(text)
    if raw is None:
        raise ValueError("public key: give a PEM Ed25519 public key or 32 raw bytes (hex or base64)")
    return Ed25519PublicKey.from_public_bytes(raw)
