"""The voting cryptography: exponential ElGamal in a 2048-bit Schnorr group with trustee key
shares, zero-knowledge proofs and a hash-chained bulletin board (docs/security.md, "Ballots").

The same protocol runs in the browser (static/participation/ballot.js) for voters and trustees;
tests check that both implementations give the same answers for the same randomness.
"""
