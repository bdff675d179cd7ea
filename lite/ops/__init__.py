"""Operations: the command line, verify, migrate, maintenance."""
