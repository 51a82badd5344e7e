"""Residents' data rights: what is held about a resident (`holdings`), and erasing it (`erasure`)."""
