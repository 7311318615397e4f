"""The secrets' room: the keyring, seals, the sealed credential and configuration blocks,
key rotation, and the sealed authority over where a credential may go and data come from."""
