"""Payload security: what Temporal stores of a job is encrypted, kept outside histories when large, and pruned.

`converter` builds the one data converter (pydantic JSON, then the AES-GCM `codec`, then
External Storage through `store`); `codec_server` decrypts for the Temporal UI; `retention`
removes the stored blobs of closed jobs.

Nothing is re-exported here: import from the modules, so a module that needs the converter
(a test's workflow file, which Temporal's sandbox re-imports) does not also load the codec
server's HTTP stack or the Temporal client that `retention` uses.
"""
