from store.passwords import hash_password, verify_password


def test_scrypt_hash_with_salt():
    one, two = hash_password("demo-pass"), hash_password("demo-pass")
    assert one != two and one.startswith("scrypt$")  # a fresh salt each time
    assert verify_password("demo-pass", one) and verify_password("demo-pass", two)
    assert not verify_password("demo-pasS", one)


def test_malformed_hash_never_matches():
    assert not verify_password("x", "")
    assert not verify_password("x", "md5$abc")
    assert not verify_password("x", "scrypt$a$b$c$d$e")
