"""Bot recording sessions: chunks in, one master out (finalize), the webhook when done."""
