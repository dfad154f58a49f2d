"""The book's popconn.py, for the benchmark."""

import poplib
import sys

from common import connect, password

user, passwd = sys.argv[2], password()
p = connect()
try:
    p.user(user)
    p.pass_(passwd)
except poplib.error_proto as e:
    print("Login failed:", e)
else:
    status = p.stat()
    print("You have %d messages totaling %d bytes" % status)
finally:
    p.quit()
