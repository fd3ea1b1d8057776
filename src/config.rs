//! `/etc/evms.conf`: `activate { include = [...] exclude = [...] }` as EVMS 2.4 defined it.
