#!/usr/bin/env python3
"""Writes the bad-rows corpus (the *.csv / *.jsonl files and EXPECTED) in
this directory.

The files are committed byte for byte; this script documents how they were
made and regenerates them identically. Some rows hold raw bytes that are not
UTF-8 (\\xff, the overlong \\xc0\\xaf, a surrogate \\xed\\xa0\\x80, ...), some
hold control bytes (TAB, \\x01, \\x1b, \\x7f) inside ids, items.csv starts with
a UTF-8 byte-order mark and has CRLF line ends, consents.jsonl has CRLF line
ends and products.csv has no newline after its last row (.gitattributes keeps
git from touching line ends). EXPECTED names each of these rows with its line
and the reason code docs/FORMATS.md gives it, and has '# counts:' lines with
the read and duplicate counts of a first import of each file.

Every bad row has exactly one defect; good rows are interleaved, and a few
of them are deliberate duplicates (they count as duplicates, not as bad).

Import order (tests/e2e/test_bad_rows.sh): the ORDER list below. Credit
records and consents need their users known, so the users files come first.

Usage: python3 make_corpus.py [DIR]   (default: the directory of this script)
"""
import os
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

FILES = []  # (name, eol, header bytes or None, entries, last_eol, prefix)


class F:
    def __init__(self, name, header=None, eol=b"\n", last_eol=True, prefix=b""):
        self.name, self.header, self.eol, self.last_eol, self.prefix = name, header, eol, last_eol, prefix
        self.rows = []  # (bytes, reason or None, description)
        FILES.append(self)

    def good(self, raw, desc=""):
        self.rows.append((b(raw), None, desc))

    def bad(self, raw, reason, desc):
        self.rows.append((b(raw), reason, desc))

    def blank(self):
        self.rows.append((b"", None, "blank line (skipped, not counted)"))

    def render(self):
        out = bytearray(self.prefix)
        line = 1
        lines = []
        if self.header is not None:
            out += b(self.header) + self.eol
            line += 1
        for i, (raw, reason, desc) in enumerate(self.rows):
            lines.append((line, raw, reason, desc))
            out += raw
            if i + 1 < len(self.rows) or self.last_eol:
                out += self.eol
            line += 1 + raw.count(b"\n")
        return bytes(out), lines


def b(x):
    return x if isinstance(x, bytes) else x.encode("utf-8")


def q(s):
    """CSV-quotes a value (RFC 4180)."""
    s = b(s)
    return b'"' + s.replace(b'"', b'""') + b'"'


def row(header, **kv):
    cols = b(header).split(b",")
    vals = []
    for c in cols:
        v = kv.pop(c.decode(), b"")
        vals.append(b(v) if not isinstance(v, (int, float)) else str(v).encode())
    assert not kv, kv
    return b",".join(vals)


def js(*pairs):
    """A JSON object line from raw (key, json-text) pairs, key order kept."""
    return b"{" + b",".join(b'"' + b(k) + b'":' + b(v) for k, v in pairs) + b"}"


def jstr(s):
    s = b(s)
    return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


# ---------------------------------------------------------------------------
# 00_users_ok.csv: clean users that the credit records and consents refer to
# ---------------------------------------------------------------------------
H = "user,gender,birth_year,city"
f = F("00_users_ok.csv", H)
for i in range(1, 17):
    f.good(row(H, user="u%d" % i, gender="fmo"[i % 3], birth_year=1960 + i, city="city%d" % (i % 4)))

# ---------------------------------------------------------------------------
# users.csv
# ---------------------------------------------------------------------------
H = "user,gender,birth_year,city,occupation,education,registered_at,channel,name,phone,email,id_number,attrs"
f = F("users.csv", H)
U = lambda **kv: row(H, **kv)
f.good(U(user="ua1", gender="Female", birth_year=1990, city="北京", channel="app"))
f.bad(U(user="", gender="f", birth_year=1990), "missing_field", "users: no user id")
f.bad(U(user="ub_gender", gender="q"), "bad_value", "users: gender q")
f.good(U(user="ua2", gender="MALE", birth_year=1900, registered_at="2020-02-29T12:00:00Z"))
f.bad(U(user="ub2", gender="fm"), "bad_value", "users: gender fm")
f.bad(U(user="ub3", birth_year=1800), "out_of_range", "users: birth_year 1800")
f.bad(U(user="ub4", birth_year=1899), "out_of_range", "users: birth_year 1899")
f.bad(U(user="ub5", birth_year=2026), "out_of_range", "users: birth_year 2026 (after this year)")
f.good(U(user="ua3", gender="other", birth_year=2025, channel="mini_program"))
f.bad(U(user="ub6", birth_year="19x0"), "bad_number", "users: birth_year 19x0")
f.bad(U(user="ub7", birth_year="1985.5"), "bad_number", "users: birth_year 1985.5 (not an integer)")
f.bad(U(user="ub8", registered_at="2024-13-01"), "bad_time", "users: registered_at month 13")
f.bad(U(user="ub9", registered_at="1985-06-01"), "time_too_old", "users: registered_at 1985")
f.bad(U(user="ub10", registered_at="2026-01-01"), "time_future", "users: registered_at 2026")
f.good(U(user="ua4", gender="f", registered_at="1714550400", name=q("Doe, Jane"), phone="+44 20 7946 0000",
         email="jane.doe@example.org", id_number="X1234567"))
f.bad(U(user="ub11", channel="fax"), "unknown_channel", "users: channel fax")
f.bad(U(user="ub12", email="nobody"), "bad_value", "users: email without @")
f.bad(U(user="ub13", email="a@b@c.org"), "bad_value", "users: email with two @")
f.bad(U(user="ub14", email="@example.org"), "bad_value", "users: email with nothing before @")
f.bad(U(user="ub15", email="me@"), "bad_value", "users: email with nothing after @")
f.good(U(user="ua5", attrs=q('{"vip":true,"tags":["a","b"]}'), occupation="engineer", education="master"))
f.bad(U(user="ub16", attrs="not json"), "bad_value", "users: attrs not JSON")
f.bad(U(user="ub17", attrs=q("[1,2]")), "bad_value", "users: attrs a JSON array")
f.bad(U(user="ub18", attrs=q('{"a":')), "bad_value", "users: attrs truncated JSON")
f.blank()
f.bad(U(user="ub19", city="c" * 65), "too_long", "users: city of 65 bytes")
f.bad(U(user="ub20", name="n" * 129), "too_long", "users: name of 129 bytes")
f.bad(U(user="u" * 129), "too_long", "users: user id of 129 bytes")
f.good(U(user="v" * 128, gender="o"), "user id of exactly 128 bytes")
f.bad(U(user=b"ub\x1b21"), "bad_id", "users: user id with ESC (0x1b)")
f.bad(U(user="ub22", occupation=b"ing\xe9nieur"), "bad_utf8", "users: occupation in Latin-1 (\\xe9)")
f.bad(U(user="ub23", education=b"m\xc0\xafster"), "bad_utf8", "users: education with overlong \\xc0\\xaf")
f.bad(U(user="ub24", gender="f") + b",extra", "field_count", "users: one field too many")
f.bad(b"ub25,f,1990", "field_count", "users: too few fields")
f.good(U(user="ua6", gender=" f ", birth_year=" 1977 ", city="  Lyon "), "spaces around values are trimmed")

# ---------------------------------------------------------------------------
# users.jsonl
# ---------------------------------------------------------------------------
f = F("users.jsonl")
f.good(js(("user", '"ja1"'), ("gender", '"f"'), ("birth_year", "1980"), ("attrs", '{"segment":"gold"}')))
f.bad(js(("user", '"jb1"'), ("attrs", "[1,2]")), "bad_type", "users.jsonl: attrs is an array")
f.bad(js(("user", '"jb2"'), ("attrs", '"x"')), "bad_value", "users.jsonl: attrs a string that is not a JSON object")
f.good(js(("user", "1001"), ("gender", '"M"'), ("birth_year", "1975")), "numeric user id")
f.bad(js(("user", '"jb3"'), ("birth_year", "1985.5")), "bad_number", "users.jsonl: birth_year 1985.5 as a JSON number")
f.bad(js(("user", '"jb4"'), ("gender", "1")), "bad_value", "users.jsonl: gender as the number 1")
f.bad(js(("user", '"jb5"'), ("age", "30")), "unknown_field", "users.jsonl: key age")
f.bad(js(("user", "null"), ("gender", '"f"')), "missing_field", "users.jsonl: user null")
f.bad(js(("user", '"jb6"'), ("email", "5")), "bad_value", "users.jsonl: email as a number")
f.good(js(("user", '"ja2"'), ("birth_year", '"1999"'), ("city", "null"), ("email", '"x@y.z"')))
f.bad(b'{"user":"jb7","gender":"f"', "bad_json", "users.jsonl: object never closed")
f.bad(js(("user", '"jb8"'), ("name", jstr("n" * 129))), "too_long", "users.jsonl: name of 129 bytes")
f.bad(js(("user", '"jb9"'), ("city", '{"name":"Paris"}')), "bad_type", "users.jsonl: city is an object")
f.bad(js(("user", '"jb10"'), ("birth_year", '"1800"')), "out_of_range", "users.jsonl: birth_year \"1800\" as a string")
f.bad(js(("user", '"jb11"'), ("gender", '"f"'), ("user", '"jb12"')), "duplicate_key", "users.jsonl: key user twice")
f.bad(js(("user", '"jb13"'), ("attrs", '{"tier":1,"seg":{"a":1,"a":2}}')), "duplicate_key",
      "users.jsonl: a key twice in an object inside attrs")

# ---------------------------------------------------------------------------
# items.csv: UTF-8 byte-order mark on the header, CRLF line ends
# ---------------------------------------------------------------------------
H = "item,title,category,brand,price,attrs"
f = F("items.csv", H, eol=b"\r\n", prefix=b"\xef\xbb\xbf")
I = lambda **kv: row(H, **kv)
f.good(I(item="i1", title="Phone X", category="electronics/phones", brand="Acme", price="199.99"))
f.good(I(item="i2", title=q("Cable, USB-C, 2 m"), category="electronics/cables", price="0"), "quoted title with commas")
f.bad(I(item="", title="No id", price="5"), "missing_field", "items: no item id")
f.bad(I(item="ib1", price="-0.01"), "negative_price", "items: price -0.01")
f.bad(I(item="ib2", price="-5"), "negative_price", "items: price -5")
f.good(I(item="i3", title=q('The "Best" Mug'), price="1e3"), "doubled quotes in a quoted title; price 1e3")
f.bad(I(item="ib3", price="abc"), "bad_number", "items: price abc")
f.bad(I(item="ib4", price=q("1,5")), "bad_number", "items: price 1,5 (decimal comma)")
f.bad(I(item="ib5", price="$5"), "bad_number", "items: price $5")
f.blank()
f.good(I(item="i4", title="t" * 256), "title of exactly 256 bytes")
f.bad(I(item="ib6", title="t" * 257), "too_long", "items: title of 257 bytes")
f.bad(I(item="ib7", brand="b" * 65), "too_long", "items: brand of 65 bytes")
f.bad(I(item="i" * 129), "too_long", "items: item id of 129 bytes")
f.bad(I(item=b"ib8\x7f"), "bad_id", "items: item id with DEL (0x7f)")
f.bad(I(item=b"ib8q\x7f", title=q("quoted, so the line takes the quoted path")), "bad_id",
      "items: item id with DEL (0x7f) on a line with quotes")
f.bad(I(item="ib9", category=b"home/\xc0\xaf"), "bad_utf8", "items: category with overlong \\xc0\\xaf")
f.bad(I(item="ib10", title=b"\xff\xfeMug"), "bad_utf8", "items: title with \\xff\\xfe")
f.good(I(item="i5", title="Chaise", attrs=q('{"colour":"red","size":[1,2]}')))
f.bad(I(item="ib11", attrs=q("[1]")), "bad_value", "items: attrs a JSON array")
f.bad(I(item="ib12", attrs=q("{oops}")), "bad_value", "items: attrs not JSON")
f.bad(I(item="ib16", attrs=q('{"colour":"red","colour":"blue"}')), "duplicate_key", "items: attrs with a key twice")
f.good(I(item="i6", title=q("Two\r\nlines"), price="3.50"), "quoted title holding CRLF")
f.bad(b"ib13,Too,few", "field_count", "items: too few fields")
f.bad(I(item="ib14") + b",,", "field_count", "items: two fields too many")
f.bad(b'ib15,"Never closed,cat,brand,1,', "unterminated_quote", "items: quote never closed (CRLF file)")
f.good(I(item="i7", title="After the bad quote", price="2"), "row after an unterminated quote is read")

# ---------------------------------------------------------------------------
# items.jsonl
# ---------------------------------------------------------------------------
f = F("items.jsonl")
f.good(js(("item", '"ji1"'), ("title", '"Lamp"'), ("category", '"home/lighting"'), ("price", "12.5")))
f.bad(js(("item", '"jib1"'), ("price", "-3")), "negative_price", "items.jsonl: price -3 as a number")
f.bad(js(("item", '"jib2"'), ("price", '"abc"')), "bad_number", "items.jsonl: price \"abc\"")
f.bad(js(("item", '"jib3"'), ("title", '["a"]')), "bad_type", "items.jsonl: title is an array")
f.bad(js(("item", '"jib4"'), ("colour", '"red"')), "unknown_field", "items.jsonl: key colour")
f.good(js(("item", "123"), ("category", '"a/b"')), "numeric item id")
f.bad(js(("item", '"jib5"'), ("price", "true")), "bad_number", "items.jsonl: price true")
f.bad(js(("item", '""'), ("title", '"x"')), "missing_field", "items.jsonl: item empty string")
f.bad(js(("item", '"jib6"'), ("attrs", "[]")), "bad_type", "items.jsonl: attrs an array")
f.bad(b"[1,2,3]", "bad_json", "items.jsonl: a JSON array line")
f.good(js(("item", '"ji2"'), ("title", '"Tea ☕"'), ("price", "0"), ("attrs", '{"k":{"n":1}}')))

# ---------------------------------------------------------------------------
# products.csv (no newline after the last row)
# ---------------------------------------------------------------------------
H = "product,kind,name,term_months,apr,amount_min,amount_max,eligibility,disclosure"
f = F("products.csv", H, last_eol=False)
P = lambda **kv: row(H, **kv)
f.good(P(product="p1", kind="instalment", name="Easy 12", term_months=12, apr="0.18", amount_min=100, amount_max=5000,
         eligibility=q('age >= 18 and income_band in ("mid", "high")'), disclosure=q("APR 18%, fees apply")))
f.bad(P(product="", kind="wealth"), "missing_field", "products: no product id")
f.bad(P(product="pb1", name="No kind"), "missing_field", "products: no kind")
f.bad(P(product="pb2", kind="loan"), "bad_value", "products: kind loan")
f.bad(P(product="pb3", kind="Insurance"), "bad_value", "products: kind Insurance (not lower case)")
f.good(P(product="p2", kind="credit_card", term_months=0, apr=0), "term 0, apr 0")
f.bad(P(product="pb4", kind="instalment", term_months=700), "out_of_range", "products: term_months 700")
f.bad(P(product="pb5", kind="instalment", term_months=-1), "out_of_range", "products: term_months -1")
f.bad(P(product="pb6", kind="instalment", term_months="12.5"), "bad_number", "products: term_months 12.5")
f.good(P(product="p3", kind="credit_line", term_months=600, apr=1, amount_min=1000, amount_max=1000),
       "term 600, apr 1, amount_min = amount_max")
f.bad(P(product="pb7", kind="credit_line", apr="1.5"), "out_of_range", "products: apr 1.5")
f.bad(P(product="pb8", kind="credit_line", apr="-0.01"), "out_of_range", "products: apr -0.01")
f.bad(P(product="pb9", kind="credit_line", apr="18%"), "bad_number", "products: apr 18%")
f.bad(P(product="pb10", kind="insurance", amount_min=-1), "negative_amount", "products: amount_min -1")
f.bad(P(product="pb11", kind="insurance", amount_max=-100), "negative_amount", "products: amount_max -100")
f.bad(P(product="pb12", kind="insurance", amount_min=5000, amount_max=100), "inconsistent", "products: amount_min > amount_max")
f.good(P(product="p4", kind="insurance", name="Travel", disclosure="Read the terms"))
f.bad(P(product="pb13", kind="wealth", eligibility="x" * 1025), "too_long", "products: eligibility of 1025 bytes")
f.bad(P(product="pb14", kind="wealth", disclosure=b"risk \xed\xa0\x80"), "bad_utf8", "products: disclosure with a UTF-16 surrogate \\xed\\xa0\\x80")
f.bad(P(product="pb15", kind="wealth", name="n" * 129), "too_long", "products: name of 129 bytes")
f.bad(P(product=b"pb\x0116", kind="wealth"), "bad_id", "products: product id with 0x01")
f.good(P(product="p5", kind="wealth", amount_min=0))
f.bad(P(product="pb17", kind="wealth", amount_max="1e"), "bad_number", "products: amount_max 1e, last line without newline")

# ---------------------------------------------------------------------------
# products.jsonl
# ---------------------------------------------------------------------------
f = F("products.jsonl")
f.good(js(("product", '"jp1"'), ("kind", '"wealth "'), ("apr", '"0.2"'), ("term_months", "12.0")),
       "kind with a trailing space (trimmed), apr as a string, term 12.0")
f.bad(js(("product", '"jpb1"'), ("kind", "null")), "missing_field", "products.jsonl: kind null")
f.bad(js(("product", '"jpb2"'), ("kind", '"wealth"'), ("rate", "0.1")), "unknown_field", "products.jsonl: key rate")
f.bad(js(("product", '"jpb3"'), ("kind", '"wealth"'), ("amount_min", "{}")), "bad_type", "products.jsonl: amount_min an object")
f.bad(js(("product", '"jpb4"'), ("kind", '"wealth"'), ("apr", "2")), "out_of_range", "products.jsonl: apr 2")
f.bad(js(("product", '"jpb5"'), ("kind", '"instalment"'), ("term_months", "601")), "out_of_range", "products.jsonl: term_months 601")
f.good(js(("product", '"jp2"'), ("kind", '"credit_card"'), ("amount_min", "0"), ("amount_max", "20000.5")))
f.bad(js(("product", '"jpb6"'), ("kind", "7")), "bad_value", "products.jsonl: kind as a number")

# ---------------------------------------------------------------------------
# credit.csv (users u1..u16 come from 00_users_ok.csv)
# ---------------------------------------------------------------------------
H = "user,on_time,late,max_overdue_days,debt,income_band,history_months,default"
f = F("credit.csv", H)
C = lambda **kv: row(H, **kv)
f.good(C(user="u1", on_time=24, late=1, max_overdue_days=15, debt="1200.50", income_band="mid", history_months=36, default="no"))
f.bad(C(user="ghost1", on_time=3), "unknown_user", "credit: user never seen")
f.bad(C(user="ub_gender", on_time=3), "unknown_user", "credit: user whose users row was quarantined")
f.bad(C(user="", on_time=3), "missing_field", "credit: no user")
f.good(C(user="u2", on_time=0, late=0, max_overdue_days=3650, debt=0, history_months=1200, default="yes"),
       "boundaries: max_overdue_days 3650, history_months 1200")
f.bad(C(user="u3", on_time=-1), "out_of_range", "credit: on_time -1")
f.bad(C(user="u3", late="3.5"), "bad_number", "credit: late 3.5")
f.bad(C(user="u3", max_overdue_days=3651), "out_of_range", "credit: max_overdue_days 3651")
f.bad(C(user="u3", history_months=1201), "out_of_range", "credit: history_months 1201")
f.bad(C(user="u3", history_months=-5), "out_of_range", "credit: history_months -5")
f.good(C(user="u3", default="TRUE", income_band="high"))
f.bad(C(user="u4", debt="-0.5"), "negative_amount", "credit: debt -0.5")
f.bad(C(user="u4", debt="lots"), "bad_number", "credit: debt lots")
f.bad(C(user="u4", default="2"), "bad_value", "credit: default 2")
f.bad(C(user="u4", default="maybe"), "bad_value", "credit: default maybe")
f.bad(C(user="u4", income_band="b" * 33), "too_long", "credit: income_band of 33 bytes")
f.good(C(user="u4", default="0", debt="3e2"))
f.bad(C(user=b"u\t5", on_time=1), "bad_id", "credit: user id with a TAB inside")
f.bad(C(user="u5", on_time="--3"), "bad_number", "credit: on_time --3")
f.bad(b"u5,1,2,3,4,low,6,0,", "field_count", "credit: one field too many (trailing comma)")
f.good(C(user="u5", default="false", on_time="+7"), "on_time +7")

# ---------------------------------------------------------------------------
# credit.jsonl (first object names on_time so the kind is recognised)
# ---------------------------------------------------------------------------
f = F("credit.jsonl")
f.good(js(("user", '"u6"'), ("on_time", "12"), ("default", "true")), "default true (JSON boolean)")
f.good(js(("user", '"u7"'), ("on_time", '"5"'), ("default", "1")), "on_time as a string, default the number 1")
f.bad(js(("user", "42"), ("on_time", "1")), "unknown_user", "credit.jsonl: numeric user id never seen")
f.bad(js(("user", '"u8"'), ("debt", "-1")), "negative_amount", "credit.jsonl: debt -1")
f.bad(js(("user", '"u8"'), ("score", "700")), "unknown_field", "credit.jsonl: key score")
f.bad(js(("user", '"u8"'), ("history_months", "[1]")), "bad_type", "credit.jsonl: history_months an array")
f.bad(js(("user", '"u8"'), ("on_time", "2.5")), "bad_number", "credit.jsonl: on_time 2.5")
f.bad(js(("user", '"u8"'), ("default", "false"), ("late", "null"), ("income_band", "[]")), "bad_type",
      "credit.jsonl: income_band an empty array")
f.good(js(("user", '"u8"'), ("default", "false"), ("late", "null")), "late null (absent)")
f.bad(b"{}", "missing_field", "credit.jsonl: empty object")

# ---------------------------------------------------------------------------
# consents.csv
# ---------------------------------------------------------------------------
H = "user,purpose,status,at"
f = F("consents.csv", H)
S = lambda **kv: row(H, **kv)
f.good(S(user="u1", purpose="profiling", status="granted", at="2024-01-01T00:00:00Z"))
f.good(S(user="u1", purpose="profiling", status="revoked", at="2024-06-01T00:00:00Z"), "history: later revocation")
f.bad(S(user="ghost2", purpose="profiling", status="granted", at="2024-01-01"), "unknown_user", "consents: user never seen")
f.bad(S(user="", purpose="profiling", status="granted", at="2024-01-01"), "missing_field", "consents: no user")
f.bad(S(user="u2", purpose="", status="granted", at="2024-01-01"), "missing_field", "consents: no purpose")
f.bad(S(user="u2", purpose="profiling", status="", at="2024-01-01"), "missing_field", "consents: no status")
f.bad(S(user="u2", purpose="profiling", status="granted", at=""), "missing_field", "consents: no at")
f.good(S(user="u2", purpose="marketing_push", status="granted", at="1714550400"))
f.bad(S(user="u2", purpose="Marketing", status="granted", at="2024-01-01"), "bad_value", "consents: purpose with upper case")
f.bad(S(user="u2", purpose="marketing push", status="granted", at="2024-01-01"), "bad_value", "consents: purpose with a space")
f.bad(S(user="u2", purpose="marketing-push", status="granted", at="2024-01-01"), "bad_value",
      "consents: purpose with a hyphen (outside [a-z0-9_])")
f.bad(S(user="u2", purpose="profiling", status="pending", at="2024-01-01"), "bad_value", "consents: status pending")
f.bad(S(user="u2", purpose="profiling", status="granted", at="2024-02-30"), "bad_time", "consents: at 2024-02-30")
f.bad(S(user="u2", purpose="profiling", status="granted", at="2026-01-01"), "time_future", "consents: at 2026-01-01")
f.bad(S(user="u2", purpose="profiling", status="granted", at="1980-01-01"), "time_too_old", "consents: at 1980-01-01")
f.bad(S(user="u2", purpose="p" * 65, status="granted", at="2024-01-01"), "too_long", "consents: purpose of 65 bytes")
f.bad(S(user=b"u2\x00", purpose="profiling", status="granted", at="2024-01-01"), "bad_utf8", "consents: user id with a NUL byte")
f.good(S(user="u3", purpose="credit_offers", status="granted", at="2025-12-01T23:59:59Z"))
f.bad(S(user="ub_gender", purpose="profiling", status="granted", at="2024-01-01"), "unknown_user",
      "consents: user whose users row was quarantined")

# ---------------------------------------------------------------------------
# consents.jsonl (CRLF line ends)
# ---------------------------------------------------------------------------
f = F("consents.jsonl", eol=b"\r\n")
f.good(js(("user", '"u4"'), ("purpose", '"profiling"'), ("status", '"granted"'), ("at", "1714550400")), "at as a JSON number")
f.bad(js(("user", '"u4"'), ("purpose", '"profiling"'), ("status", "true"), ("at", '"2024-01-01"')), "bad_value",
      "consents.jsonl: status true")
f.good(js(("user", '"u4"'), ("purpose", "5"), ("status", '"revoked"'), ("at", '"2024-01-02"')), "purpose the number 5")
f.bad(js(("user", '"u4"'), ("purpose", '"profiling"'), ("status", '"granted"'), ("at", '"2024-01-01"'), ("channel", '"sms"')),
      "unknown_field", "consents.jsonl: key channel")
f.bad(js(("user", '"u4"'), ("purpose", '"credit.offers"'), ("status", '"granted"'), ("at", '"2024-01-01"')), "bad_value",
      "consents.jsonl: purpose with a dot (outside [a-z0-9_])")
f.bad(js(("user", '"u4"'), ("purpose", '"profiling"'), ("status", '"granted"')), "missing_field", "consents.jsonl: no at")
f.bad(js(("user", '"ghost3"'), ("purpose", '"profiling"'), ("status", '"granted"'), ("at", '"2024-01-01"')),
      "unknown_user", "consents.jsonl: user never seen")

# ---------------------------------------------------------------------------
# events.csv
# ---------------------------------------------------------------------------
H = "event_id,user,item,type,ts,channel,amount,qty,query,rating,city,lat,lon,session,campaign"
f = F("events.csv", H)
_n = [0]


def E(**kv):
    """An event row; ts defaults to a distinct minute of 2024-05-01 so that
    good rows never collide by content."""
    _n[0] += 1
    kv.setdefault("user", "u1")
    kv.setdefault("type", "view")
    if "ts" not in kv:
        kv["ts"] = "2024-05-01T%02d:%02d:00Z" % (_n[0] // 60, _n[0] % 60)
    return row(H, **kv)


f.good(E(item="i1", channel="web"))
f.good(E(type="search", query=q("shoes, red"), channel="app"), "quoted query with a comma")
f.bad(E(user=""), "missing_field", "events: no user")
f.bad(E(type=""), "missing_field", "events: no type")
f.bad(E(ts=""), "missing_field", "events: no ts")
f.good(E(type="search", query=q("first line\nsecond line")), "quoted query with an embedded newline (2 lines)")
f.bad(E(type="buy", item="i1"), "unknown_type", "events: type buy")
f.bad(E(type="VIEW"), "unknown_type", "events: type VIEW (types are lower case)")
f.bad(E(channel="fax"), "unknown_channel", "events: channel fax")
f.bad(E(channel="WEB"), "unknown_channel", "events: channel WEB (channels are lower case)")
f.good(E(type="search", query=q('say "hi"'), channel=q("")), "doubled quotes in a query; quoted empty channel")
f.bad(E(type="purchase", amount=10), "missing_field", "events: purchase without item")
f.bad(E(type="cart"), "missing_field", "events: cart without item")
f.bad(E(type="rate", rating=4), "missing_field", "events: rate without item")
f.bad(E(type="search"), "missing_field", "events: search without query")
f.bad(E(type="rate", item="i1"), "missing_field", "events: rate without rating")
f.bad(E(type="repay"), "missing_field", "events: repay without amount")
f.good(E(type="purchase", item="i1", amount="199.99", qty=1000000, channel="store"), "qty 1000000")
f.bad(E(type="purchase", item="i1", amount=-5), "negative_amount", "events: purchase amount -5")
f.bad(E(type="refund", item="i1", amount=-10), "negative_amount", "events: refund amount -10")
f.bad(E(type="purchase", item="i1", amount="12a"), "bad_number", "events: amount 12a")
f.bad(E(type="purchase", item="i1", amount="1e"), "bad_number", "events: amount 1e")
f.bad(E(type="purchase", item="i1", amount="--3"), "bad_number", "events: amount --3")
f.bad(E(type="purchase", item="i1", amount=" 1 2"), "bad_number", "events: amount ' 1 2'")
f.bad(E(type="purchase", item="i1", amount="NaN"), "bad_number", "events: amount NaN")
f.bad(E(type="purchase", item="i1", amount="inf"), "bad_number", "events: amount inf")
f.bad(E(type="purchase", item="i1", amount="0x1A"), "bad_number", "events: amount 0x1A (hex)")
f.bad(E(type="purchase", item="i1", amount="1e400"), "bad_number", "events: amount 1e400 (overflows)")
f.bad(E(type="purchase", item="i1", amount=q("1,5")), "bad_number", "events: amount 1,5 (decimal comma, quoted)")
f.good(E(type="purchase", item="i2", amount="+5", qty="1"), "amount +5")
f.bad(E(qty=0), "out_of_range", "events: qty 0")
f.bad(E(qty=1000001), "out_of_range", "events: qty 1000001")
f.bad(E(qty=-2), "out_of_range", "events: qty -2")
f.bad(E(qty="1.5"), "bad_number", "events: qty 1.5")
f.bad(E(qty="two"), "bad_number", "events: qty two")
f.good(E(type="rate", item="i1", rating=0), "rating 0")
f.good(E(type="rate", item="i2", rating=10), "rating 10")
f.bad(E(type="rate", item="i1", rating=11), "out_of_range", "events: rating 11")
f.bad(E(type="rate", item="i1", rating=-0.5), "out_of_range", "events: rating -0.5")
f.bad(E(type="rate", item="i1", rating="five"), "bad_number", "events: rating five")
f.good(E(lat=90, lon=-180), "lat 90 lon -180")
f.good(E(lat=-90, lon=180, city="Zürich"), "lat -90 lon 180")
f.bad(E(lat=91, lon=0), "out_of_range", "events: lat 91")
f.bad(E(lat="-90.5", lon=0), "out_of_range", "events: lat -90.5")
f.bad(E(lat=0, lon="180.5"), "out_of_range", "events: lon 180.5")
f.bad(E(lat=0, lon=-181), "out_of_range", "events: lon -181")
f.bad(E(lat="48.85"), "inconsistent", "events: lat without lon")
f.bad(E(lon="2.35"), "inconsistent", "events: lon without lat")
f.blank()
for ts, why in [("2024-13-01", "month 13"), ("2024-02-30", "30 February"), ("2023-02-29", "29 February of a common year"),
                ("yesterday", "a word"), ("2024-05-01T25:00", "hour 25"), ("2024-05-01T12:60", "minute 60"),
                ("2024/05/01", "slashes"), ("01/05/2024", "day/month/year"),
                ("2024-05-01T08:30:00+15:00", "zone +15:00"), ("2024-05-01T08:30:00Zjunk", "text after Z"),
                ("1714550400x", "Unix time with a letter"), ("2024-5-1", "one-digit month and day"),
                ("2024-05-01T08:30:00.", "empty fraction")]:
    f.bad(E(ts=ts), "bad_time", "events: ts %s (%s)" % (ts, why))
f.good(E(ts="1990-01-01T00:00:00Z", event_id="e-1990"), "ts exactly 1990-01-01")
f.good(E(ts="1989-12-31T23:00:00-02:00", event_id="e-tz-old"), "ts 1989-12-31T23:00-02:00 is 1990-01-01T01:00Z")
f.good(E(ts="2025-12-02T00:00:00Z", event_id="e-now+1d"), "ts exactly one day after now")
for ts, why in [("1989-12-31T23:59:59Z", "a second before 1990"), ("0", "Unix 0"),
                ("1990-01-01T01:00:00+02:00", "1989-12-31T23:00Z"), ("-1", "negative Unix time")]:
    f.bad(E(ts=ts), "time_too_old", "events: ts %s (%s)" % (ts, why))
for ts, why in [("2025-12-02T00:00:01Z", "a day and a second ahead"), ("2030-01-01", "2030"),
                ("1893456000000", "Unix ms in 2030")]:
    f.bad(E(ts=ts), "time_future", "events: ts %s (%s)" % (ts, why))
f.good(E(ts="1714550400", event_id="e-unix-s"), "Unix seconds")
f.good(E(ts="1714550400123", event_id="e-unix-ms"), "Unix milliseconds")
f.good(E(ts="1714550400.5", event_id="e-unix-frac"), "Unix seconds with a fraction")
f.good(E(ts="2024-05-01T08:30:00.123+08:00", event_id="e-tz8"), "ISO with fraction and +08:00")
f.good(E(type="search", query="q" * 256), "query of exactly 256 bytes")
f.bad(E(type="search", query="q" * 300), "too_long", "events: query of 300 bytes")
f.bad(E(user="u" * 129), "too_long", "events: user of 129 bytes")
f.bad(E(event_id="e" * 129), "too_long", "events: event_id of 129 bytes")
f.bad(E(city="c" * 65), "too_long", "events: city of 65 bytes")
f.bad(E(ts="2024-05-01T08:30:00.00000000000000000000000Z"), "too_long", "events: ts of 44 bytes")
f.bad(E(campaign="k" * 129), "too_long", "events: campaign of 129 bytes")
f.good(E(user="w" * 128, type="click", campaign="spring"), "user of exactly 128 bytes")
f.bad(E(user=b"u\t1"), "bad_id", "events: user with a TAB inside")
f.bad(E(event_id=b"e\x01x"), "bad_id", "events: event_id with 0x01")
f.bad(E(session=b"s\x7f1"), "bad_id", "events: session with DEL")
f.bad(E(type="fav", item=q("it\nem")), "bad_id", "events: item with a quoted newline inside (2 lines)")
f.bad(E(type="search", query=b"caf\xff"), "bad_utf8", "events: query with \\xff")
f.bad(E(city=b"\xc0\xafetc"), "bad_utf8", "events: city with overlong \\xc0\\xaf")
f.bad(E(type="fav", item=b"i\xed\xa0\x80"), "bad_utf8", "events: item with a surrogate \\xed\\xa0\\x80")
f.bad(E(user=b"u\xe4\xb8"), "bad_utf8", "events: user with a truncated sequence \\xe4\\xb8")
f.bad(E(campaign=b"c\xf8\x88\x80\x80\x80"), "bad_utf8", "events: campaign with a 5-byte sequence")
f.bad(E(type="search", query=b"caf\xe9 cr\xe8me"), "bad_utf8", "events: query in Latin-1")
f.bad(E(type="search", query=b"nul\x00byte"), "bad_utf8", "events: query with a NUL byte")
f.good(E(type="search", query="咖啡 ☕ café", city="東京"), "UTF-8 text")
f.good(E(type="repay", amount="250", channel="sms"))
f.good(E(type="loan_apply", amount="10000", channel="phone"))
f.good(E(type="coupon_use", item="i3", campaign="c-1", session="s-1", channel="push"))
f.good(E(type="share", item="i4", channel="social"))
f.good(E(type="review", item="i5", channel="in_app"))
f.good(E(type="refund", item="i1", amount="199.99", channel="email"), "refund with a positive amount")
f.good(E(type="fav", item="i6", channel="mini_program", user="u_new1"), "a new user, created on first sight")
f.good(E(type="view", item="i7", channel="other", amount="1e3"), "amount 1e3")
f.good(row(H, user="u1", item="i1", type="view", ts="2024-05-01T00:01:00Z", channel="web"),
       "exact duplicate of the first row (a duplicate, not bad)")
f.good(E(event_id="e-1990", ts="2024-05-02"), "same event_id as an earlier row (a duplicate)")
f.good(E(user=" u2 ", type=" view ", channel=" web "), "spaces around values are trimmed")
f.bad(E() + b",extra", "field_count", "events: one field too many")
f.bad(b"u1,i1,view,2024-05-01,web,,,,,,,,,", "field_count", "events: one field too few")
f.bad(b"u1", "field_count", "events: a single field")
f.bad(b"," * 299, "field_count", "events: 300 fields (more than the 256 the reader splits)")
f.bad(b'e-uq,u1,,search,2024-05-03,web,,,"never closed,,,,,,', "unterminated_quote", "events: quote never closed")
f.good(E(type="click", item="i2", channel="web"), "row after an unterminated quote is read")
f.good(E(type="view", item="i3", channel="app"))

# ---------------------------------------------------------------------------
# events.jsonl
# ---------------------------------------------------------------------------
f = F("events.jsonl")
J = lambda *pairs: js(*pairs)
f.good(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01T00:00:00Z"'), ("item", '"i1"')))
f.good(J(("user", '"u2"'), ("type", '"view"'), ("ts", "1717200060")), "ts as a JSON number (Unix seconds)")
f.good(J(("user", '"u2"'), ("type", '"view"'), ("ts", "1717200120000")), "ts as a JSON number (Unix ms)")
f.good(J(("user", '"u2"'), ("type", '"view"'), ("ts", "1717200180.25")), "ts as a JSON decimal")
f.good(J(("user", "77"), ("type", '"click"'), ("ts", '"2024-06-01T00:04:00Z"'), ("event_id", "9001")), "numeric user and event_id")
f.good(J(("user", '"u3"'), ("type", '"view"'), ("ts", '"2024-06-01T00:05:00Z"'), ("lat", "null"), ("lon", "null"),
         ("channel", "null")), "nulls are absent")
f.good(J(("type", '"view"'), ("ts", '"2024-06-01T00:05:00Z"'), ("user", '"u3"')), "same content, other key order: duplicate")
for raw, why in [(b'{"user":"u1","type":"view","ts":"2024-06-01"', "object never closed"), (b"[1,2]", "an array"),
                 (b'"hello"', "a string"), (b"42", "a number"), (b"null", "null"),
                 (b'{"user":"u1","type":"view","ts":"2024-06-01",}', "trailing comma"),
                 (b"{'user':'u1','type':'view','ts':'2024-06-01'}", "single quotes"),
                 (b'{user:"u1",type:"view",ts:"2024-06-01"}', "unquoted keys"),
                 (b'{"user":"u1","type":"view","ts":"2024-06-01","amount":NaN}', "NaN literal")]:
    f.bad(raw, "bad_json", "events.jsonl: %s" % why)
f.bad(b'{"user":"u1","type":"view","ts":"2024-06-01T00:06:00Z"} trailing', "bad_json",
      "events.jsonl: text after the object")
f.bad(b'{"user":"u1","type":"view","ts":"2024-06-01T00:07:00Z"}{"user":"u2"}', "bad_json",
      "events.jsonl: two objects on one line")
f.bad(J(("user", '"u1"'), ("type", '"fav"'), ("ts", '"2024-06-01"'), ("item", '["i1","i2"]')), "bad_type", "events.jsonl: item an array")
f.bad(J(("user", '{"id":"u1"}'), ("type", '"view"'), ("ts", '"2024-06-01"')), "bad_type", "events.jsonl: user an object")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("qty", '{"n":1}')), "bad_type", "events.jsonl: qty an object")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", "[2024,6,1]")), "bad_type", "events.jsonl: ts an array")
f.bad(J(("usr", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"')), "unknown_field", "events.jsonl: key usr")
f.bad(J(("user", '"u1"'), ("Type", '"view"'), ("ts", '"2024-06-01"')), "unknown_field", "events.jsonl: key Type (keys are case-sensitive)")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("timestamp", '"2024-06-01"')), "unknown_field", "events.jsonl: key timestamp")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("attrs", "{}")), "unknown_field",
      "events.jsonl: key attrs (a field of other kinds only)")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("", "1")), "unknown_field", "events.jsonl: empty key")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("extra", "null")), "unknown_field",
      "events.jsonl: unknown key with a null value")
f.bad(J(("user", "null"), ("type", '"view"'), ("ts", '"2024-06-01"')), "missing_field", "events.jsonl: user null")
f.bad(J(("user", '""'), ("type", '"view"'), ("ts", '"2024-06-01"')), "missing_field", "events.jsonl: user empty")
f.bad(J(("user", '"   "'), ("type", '"view"'), ("ts", '"2024-06-01"')), "missing_field", "events.jsonl: user only spaces")
f.bad(J(("user", '"u1"'), ("ts", '"2024-06-01"')), "missing_field", "events.jsonl: no type")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", "null")), "missing_field", "events.jsonl: ts null")
f.bad(J(("user", '"u1"'), ("type", '"purchase"'), ("ts", '"2024-06-01"'), ("amount", "5")), "missing_field",
      "events.jsonl: purchase without item")
f.bad(J(("user", '"u1"'), ("type", '"search"'), ("ts", '"2024-06-01"'), ("query", '""')), "missing_field",
      "events.jsonl: search with an empty query")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("qty", "1.5")), "bad_number", "events.jsonl: qty 1.5")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("qty", "true")), "bad_number", "events.jsonl: qty true")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("amount", "1e999")), "bad_number",
      "events.jsonl: amount 1e999 (infinite)")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("lat", '"north"'), ("lon", "2")), "bad_number",
      "events.jsonl: lat north")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"yesterday"')), "bad_time", "events.jsonl: ts yesterday")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", "true")), "bad_time", "events.jsonl: ts true")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", "1.5e20")), "bad_time", "events.jsonl: ts 1.5e20")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", "4102444800")), "time_future", "events.jsonl: ts 4102444800 (2100)")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", "0")), "time_too_old", "events.jsonl: ts 0")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", "631151999")), "time_too_old", "events.jsonl: ts 631151999 (1989-12-31T23:59:59Z)")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"20240601"')), "time_too_old",
      "events.jsonl: ts \"20240601\" (digits only: Unix seconds, 1970)")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("lat", "91.5"), ("lon", "0")), "out_of_range",
      "events.jsonl: lat 91.5")
f.bad(J(("user", '"u1"'), ("type", '"rate"'), ("ts", '"2024-06-01"'), ("item", '"i1"'), ("rating", "10.5")), "out_of_range",
      "events.jsonl: rating 10.5")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("qty", "0")), "out_of_range", "events.jsonl: qty 0")
f.bad(J(("user", '"a\\u0001b"'), ("type", '"view"'), ("ts", '"2024-06-01"')), "bad_id", "events.jsonl: user with \\u0001")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("event_id", '"x\\ny"')), "bad_id",
      "events.jsonl: event_id with an escaped newline")
f.bad(J(("user", '"a\\u0000b"'), ("type", '"view"'), ("ts", '"2024-06-02"')), "bad_utf8",
      "events.jsonl: user with \\u0000 (a NUL byte)")
f.bad(J(("user", '"u1"'), ("type", '"search"'), ("ts", '"2024-06-02"'), ("query", '"x\\u0000y"')), "bad_utf8",
      "events.jsonl: query with \\u0000 (a NUL byte)")
f.bad(J(("user", '"u1"'), ("type", '"search"'), ("ts", '"2024-06-01"'), ("query", b'"caf\xff"')), "bad_utf8",
      "events.jsonl: raw \\xff inside a string")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("city", b'"\xc0\xaf"')), "bad_utf8",
      "events.jsonl: raw overlong \\xc0\\xaf inside a string")
f.bad(J(("user", '"u1"'), ("type", '"search"'), ("ts", '"2024-06-01"'), ("query", jstr("q" * 300))), "too_long",
      "events.jsonl: query of 300 bytes")
f.bad(J(("user", jstr("u" * 129)), ("type", '"view"'), ("ts", '"2024-06-01"')), "too_long", "events.jsonl: user of 129 bytes")
f.bad(J(("user", '"u1"'), ("type", '"purchased"'), ("ts", '"2024-06-01"')), "unknown_type", "events.jsonl: type purchased")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("channel", '"tv"')), "unknown_channel",
      "events.jsonl: channel tv")
f.bad(J(("user", '"u1"'), ("type", '"repay"'), ("ts", '"2024-06-01"'), ("amount", "-1")), "negative_amount",
      "events.jsonl: repay amount -1")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01"'), ("lon", "2.35")), "inconsistent",
      "events.jsonl: lon without lat")
f.blank()
f.good(J(("user", '"u4"'), ("type", '"rate"'), ("ts", '"2024-06-01T00:08:00Z"'), ("item", '"i2"'), ("rating", '"7.5"'),
         ("session", '"s9"'), ("qty", "2")), "rating as a string")
f.good(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01T00:00:00Z"'), ("item", '"i1"')),
       "exact duplicate of the first line")
f.bad(J(("user", '"u1"'), ("type", '"view"'), ("ts", '"2024-06-01T00:09:00Z"'), ("user", '"u2"')), "duplicate_key",
      "events.jsonl: key user twice (which user is meant cannot be told)")

ORDER = ["00_users_ok.csv", "users.csv", "users.jsonl", "items.csv", "items.jsonl", "products.csv",
         "products.jsonl", "credit.csv", "credit.jsonl", "consents.csv", "consents.jsonl", "events.csv",
         "events.jsonl"]
assert ORDER == [x.name for x in FILES]

exp = ["# The bad rows of this corpus: FILE LINE REASON, one per line.",
       "# Generated by make_corpus.py, which also writes the files; the comment",
       "# above each entry says what is wrong with the row. LINE is the physical",
       "# line where the record starts (blank lines and the lines inside quoted",
       "# fields count). Import order: " + " ".join(ORDER),
       "#",
       "# The lines '# counts: FILE read=N duplicates=N' give what a first",
       "# import of each file into a store holding the files before it prints",
       "# (duplicates are good rows repeating an earlier row of the same file).",
       ""]
COUNTS_AT = len(exp)
kinds = set()
summary = []
for fl in FILES:
    data, lines = fl.render()
    with open(os.path.join(OUT, fl.name), "wb") as fh:
        fh.write(data)
    nbad = nread = 0
    for line, raw, reason, desc in lines:
        if raw == b"":
            continue
        nread += 1
        if reason:
            nbad += 1
            assert desc not in kinds, desc
            kinds.add(desc)
            exp.append("# " + desc)
            exp.append("%s %d %s" % (fl.name, line, reason))
    ndup = sum(1 for _, raw, reason, desc in lines if not reason and "duplicate" in desc)
    exp.insert(COUNTS_AT + len(summary), "# counts: %s read=%d duplicates=%d" % (fl.name, nread, ndup))
    summary.append("%s: %d rows, %d bad" % (fl.name, nread, nbad))
    exp.append("")
with open(os.path.join(OUT, "EXPECTED"), "w") as fh:
    fh.write("\n".join(exp))
print("\n".join(summary))
print("%d distinct bad-row kinds" % len(kinds))
