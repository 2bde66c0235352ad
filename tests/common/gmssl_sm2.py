#!/usr/bin/env python3
"""SM2 signatures made and checked by Python's gmssl package, an implementation written
elsewhere, for the gateway's interoperability test (tests/api/sm2.rs drives it).

  gmssl_sm2.py keypair [PREFIX]        -> "PRIVATE_HEX PUBLIC_HEX" (public: x || y), drawn
                                          until the public hex starts with PREFIX
  gmssl_sm2.py sign PRIVATE_HEX        stdin: the bytes to sign -> r || s in hex (64 bytes)
  gmssl_sm2.py verify PUBLIC_HEX SIG   stdin: the signed bytes  -> "true" or "false"

Signatures are gmssl's sign_with_sm3 / verify_with_sm3: SM3 over Z || message with the
GM/T 0009 default ID 1234567812345678.
"""
import sys

from gmssl import func, sm2


def crypt_for(private_hex, public_hex):
    """gmssl's constructor strips a "04" prefix with str.lstrip("04"), which also eats the
    leading 0s and 4s of a bare x || y that happens to start with "04" (1 key in 256): set the
    key after construction so every key is taken as given."""
    crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
    crypt.public_key = public_hex
    return crypt


def public_of(private_hex):
    crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
    return crypt._kg(int(private_hex, 16), sm2.default_ecc_table["g"])


def main(args):
    if args[:1] == ["keypair"] and len(args) <= 2:
        prefix = args[1] if len(args) == 2 else ""
        n = int(sm2.default_ecc_table["n"], 16)
        while True:
            d = int(func.random_hex(64), 16)
            if not 0 < d < n - 1:
                continue
            private_hex = "%064x" % d
            public_hex = public_of(private_hex)
            if public_hex.startswith(prefix):
                break
        print(private_hex, public_hex)
    elif args[:1] == ["sign"] and len(args) == 2:
        data = sys.stdin.buffer.read()
        crypt = crypt_for(args[1], public_of(args[1]))
        print(crypt.sign_with_sm3(data))
    elif args[:1] == ["verify"] and len(args) == 3:
        data = sys.stdin.buffer.read()
        crypt = crypt_for("", args[1])
        print("true" if crypt.verify_with_sm3(args[2], data) else "false")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
