"""The book's mailbox.py, for the benchmark."""

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
    response, listings, octet_count = p.list()
    for listing in listings:
        number, size = listing.decode('ascii').split()
        print("Message %s has %s bytes" % (number, size))
finally:
    p.quit()
