"""The book's apopconn.py, for the interop matrix."""

import poplib
import sys

from common import connect, password

user, passwd = sys.argv[2], password()
p = connect()
try:
    p.apop(user, passwd)
except poplib.error_proto as e:
    print("Login failed:", e)
else:
    status = p.stat()
    print("You have %d messages totaling %d bytes" % status)
finally:
    p.quit()
