// Integration tests talk to real Redis and real HTTP servers: allow them (and their hooks) a minute.
jest.setTimeout(60_000)
