"""The OFD twin of a certificate (GB/T 33190) and its GB/T 38540 seals: pure, bytes in and out."""
