"""Logs in and holds the mailbox until standard input ends: the other session of the
interop matrix's held-mailbox case. Prints `held` once logged in."""

import sys

from common import connect, password

user, passwd = sys.argv[2], password()
p = connect()
p.user(user)
p.pass_(passwd)
print("held", flush=True)
sys.stdin.read()
p.quit()
