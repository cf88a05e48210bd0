"""hvac, an unmodified Vault client, against the real server.

Run by tests/tests/clients.rs, which starts a server and sets VAULT_ADDR and
VAULT_TOKEN (the root token). Standard library unittest only, plus hvac.
"""

import os
import unittest
import uuid

import hvac
from hvac import exceptions

ADDR = os.environ["VAULT_ADDR"]
ROOT = os.environ["VAULT_TOKEN"]


def client(token=ROOT):
    return hvac.Client(url=ADDR, token=token, timeout=10)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Sys(unittest.TestCase):
    def test_status(self):
        c = client()
        self.assertTrue(c.is_authenticated())
        self.assertTrue(c.sys.is_initialized())
        self.assertFalse(c.sys.is_sealed())
        health = c.sys.read_health_status(method="GET")
        self.assertFalse(health["sealed"])

    def test_default_mounts(self):
        mounts = client().sys.list_mounted_secrets_engines()["data"]
        self.assertEqual(mounts["secret/"]["type"], "kv")
        self.assertEqual(mounts["cubbyhole/"]["type"], "cubbyhole")
        self.assertIn("sys/", mounts)

    def test_bad_token(self):
        self.assertFalse(client("s.not-a-token").is_authenticated())
        with self.assertRaises(exceptions.Forbidden):
            client("s.not-a-token").secrets.kv.v1.read_secret("x", mount_point="secret")


class KvV1(unittest.TestCase):
    def test_write_read_list_delete(self):
        c = client()
        path = unique("hello")
        c.secrets.kv.v1.create_or_update_secret(path, {"value": "world", "n": 42}, mount_point="secret")
        read = c.secrets.kv.v1.read_secret(path, mount_point="secret")
        self.assertEqual(read["data"], {"value": "world", "n": 42})
        self.assertEqual(read["lease_duration"], 2764800)
        c.secrets.kv.v1.create_or_update_secret(f"{path}/nested", {"a": "b"}, mount_point="secret")
        keys = c.secrets.kv.v1.list_secrets("", mount_point="secret")["data"]["keys"]
        self.assertIn(path, keys)
        self.assertIn(f"{path}/", keys)
        c.secrets.kv.v1.delete_secret(path, mount_point="secret")
        with self.assertRaises(exceptions.InvalidPath):
            c.secrets.kv.v1.read_secret(path, mount_point="secret")

    def test_overwrite_replaces(self):
        c = client()
        path = unique("over")
        c.secrets.kv.v1.create_or_update_secret(path, {"a": "1", "b": "2"}, mount_point="secret")
        c.secrets.kv.v1.create_or_update_secret(path, {"c": "3"}, mount_point="secret")
        self.assertEqual(c.secrets.kv.v1.read_secret(path, mount_point="secret")["data"], {"c": "3"})

    def test_empty_write_is_refused(self):
        with self.assertRaises(exceptions.InvalidRequest):
            client().secrets.kv.v1.create_or_update_secret(unique("empty"), {}, mount_point="secret")


class KvV2(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mount = unique("kv2")
        client().sys.enable_secrets_engine("kv", path=cls.mount, options={"version": "2"})

    @classmethod
    def tearDownClass(cls):
        client().sys.disable_secrets_engine(cls.mount)

    def test_versions_cas_and_soft_delete(self):
        kv = client().secrets.kv.v2
        path = unique("app")
        first = kv.create_or_update_secret(path, secret={"user": "alice"}, mount_point=self.mount)
        self.assertEqual(first["data"]["version"], 1)
        kv.create_or_update_secret(path, secret={"user": "bob"}, cas=1, mount_point=self.mount)
        with self.assertRaises(exceptions.InvalidRequest):
            kv.create_or_update_secret(path, secret={"user": "eve"}, cas=1, mount_point=self.mount)
        latest = kv.read_secret_version(path, mount_point=self.mount, raise_on_deleted_version=True)
        self.assertEqual(latest["data"]["data"], {"user": "bob"})
        self.assertEqual(latest["data"]["metadata"]["version"], 2)
        old = kv.read_secret_version(path, version=1, mount_point=self.mount, raise_on_deleted_version=True)
        self.assertEqual(old["data"]["data"], {"user": "alice"})

        meta = kv.read_secret_metadata(path, mount_point=self.mount)["data"]
        self.assertEqual(meta["current_version"], 2)
        self.assertEqual(sorted(meta["versions"]), ["1", "2"])

        kv.delete_latest_version_of_secret(path, mount_point=self.mount)
        with self.assertRaises(exceptions.InvalidPath):
            kv.read_secret_version(path, mount_point=self.mount, raise_on_deleted_version=True)
        kv.undelete_secret_versions(path, versions=[2], mount_point=self.mount)
        self.assertEqual(
            kv.read_secret_version(path, mount_point=self.mount, raise_on_deleted_version=True)["data"]["data"],
            {"user": "bob"},
        )
        kv.destroy_secret_versions(path, versions=[1], mount_point=self.mount)
        meta = kv.read_secret_metadata(path, mount_point=self.mount)["data"]
        self.assertTrue(meta["versions"]["1"]["destroyed"])

        self.assertIn(path, kv.list_secrets("", mount_point=self.mount)["data"]["keys"])
        kv.delete_metadata_and_all_versions(path, mount_point=self.mount)
        with self.assertRaises(exceptions.InvalidPath):
            kv.read_secret_metadata(path, mount_point=self.mount)

    def test_max_versions(self):
        kv = client().secrets.kv.v2
        path = unique("capped")
        kv.update_metadata(path, max_versions=2, mount_point=self.mount)
        for i in range(4):
            kv.create_or_update_secret(path, secret={"i": str(i)}, mount_point=self.mount)
        meta = kv.read_secret_metadata(path, mount_point=self.mount)["data"]
        self.assertEqual(sorted(meta["versions"]), ["3", "4"])
        self.assertEqual(meta["oldest_version"], 3)


class Mounts(unittest.TestCase):
    def test_enable_tune_disable_removes_data(self):
        c = client()
        mount = unique("tmp")
        c.sys.enable_secrets_engine("kv", path=mount, options={"version": "1"}, description="scratch")
        with self.assertRaises(exceptions.InvalidRequest):
            c.sys.enable_secrets_engine("kv", path=mount)
        c.secrets.kv.v1.create_or_update_secret("k", {"v": "1"}, mount_point=mount)
        c.sys.tune_mount_configuration(mount, default_lease_ttl="1h", max_lease_ttl="2h")
        tuned = c.sys.read_mount_configuration(mount)["data"]
        self.assertEqual((tuned["default_lease_ttl"], tuned["max_lease_ttl"]), (3600, 7200))
        self.assertEqual(c.secrets.kv.v1.read_secret("k", mount_point=mount)["lease_duration"], 3600)
        c.sys.disable_secrets_engine(mount)
        c.sys.enable_secrets_engine("kv", path=mount)
        with self.assertRaises(exceptions.InvalidPath):
            c.secrets.kv.v1.read_secret("k", mount_point=mount)
        c.sys.disable_secrets_engine(mount)


TOKEN_MAKER = """
path "auth/token/create" {
  capabilities = ["update"]
}
"""

READ_ONLY = """
path "secret/*" {
  capabilities = ["read", "list"]
}
"""


class PoliciesAndTokens(unittest.TestCase):
    def test_limited_token_does_exactly_what_its_policy_says(self):
        root = client()
        name = unique("readsecret")
        root.sys.create_or_update_policy(name=name, policy=READ_ONLY)
        self.assertIn(name, root.sys.list_policies()["data"]["policies"])
        self.assertIn("secret/*", root.sys.read_policy(name)["data"]["rules"])
        path = unique("shared")
        root.secrets.kv.v1.create_or_update_secret(path, {"v": "1"}, mount_point="secret")

        created = root.auth.token.create(policies=[name], ttl="1h")
        self.assertEqual(sorted(created["auth"]["policies"]), sorted(["default", name]))
        self.assertEqual(created["auth"]["lease_duration"], 3600)
        limited = client(created["auth"]["client_token"])
        self.assertEqual(limited.secrets.kv.v1.read_secret(path, mount_point="secret")["data"], {"v": "1"})
        with self.assertRaises(exceptions.Forbidden):
            limited.secrets.kv.v1.create_or_update_secret(path, {"v": "2"}, mount_point="secret")
        with self.assertRaises(exceptions.Forbidden):
            limited.sys.list_mounted_secrets_engines()
        with self.assertRaises(exceptions.Forbidden):
            limited.sys.create_or_update_policy(name="mine", policy=READ_ONLY)

        looked = limited.auth.token.lookup_self()["data"]
        # hvac sends display_name="token"; Vault prefixes it, as here.
        self.assertEqual(looked["display_name"], "token-token")
        renewed = limited.auth.token.renew_self(increment="2h")
        self.assertEqual(renewed["auth"]["lease_duration"], 7200)
        limited.auth.token.revoke_self()
        self.assertFalse(limited.is_authenticated())
        root.sys.delete_policy(name)

    @classmethod
    def setUpClass(cls):
        client().sys.create_or_update_policy(name="tokenmaker", policy=TOKEN_MAKER)

    def test_default_policy_cannot_create_tokens(self):
        token = client().auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
        with self.assertRaises(exceptions.Forbidden):
            client(token).auth.token.create(ttl="1m")

    def test_revoking_a_parent_revokes_its_children(self):
        root = client()
        parent = root.auth.token.create(policies=["tokenmaker"], ttl="1h")["auth"]
        child = client(parent["client_token"]).auth.token.create(ttl="30m")["auth"]
        self.assertFalse(child["orphan"])
        by_accessor = root.auth.token.lookup_accessor(child["accessor"])["data"]
        self.assertEqual(by_accessor["accessor"], child["accessor"])
        root.auth.token.revoke(parent["client_token"])
        self.assertFalse(client(child["client_token"]).is_authenticated())

    def test_orphans_and_num_uses(self):
        root = client()
        orphan = root.auth.token.create_orphan(policies=["default"], ttl="1h")["auth"]
        self.assertTrue(orphan["orphan"])
        limited = root.auth.token.create(policies=["default"], num_uses=2)["auth"]
        c = client(limited["client_token"])
        c.auth.token.lookup_self()
        c.auth.token.lookup_self()
        with self.assertRaises(exceptions.Forbidden):
            c.auth.token.lookup_self()

    def test_child_policies_must_be_a_subset(self):
        token = client().auth.token.create(policies=["tokenmaker"], ttl="1h")["auth"]["client_token"]
        with self.assertRaises(exceptions.InvalidRequest):
            client(token).auth.token.create(policies=["root"])
        child = client(token).auth.token.create(policies=["tokenmaker"], ttl="1m")["auth"]
        self.assertEqual(child["policies"], ["default", "tokenmaker"])


class Cubbyhole(unittest.TestCase):
    def test_private_per_token(self):
        root = client()
        a = client(root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"])
        b = client(root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"])
        a.write("cubbyhole/note", value="for a only")
        self.assertEqual(a.read("cubbyhole/note")["data"], {"value": "for a only"})
        self.assertIsNone(b.read("cubbyhole/note"))


if __name__ == "__main__":
    unittest.main()
