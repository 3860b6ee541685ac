"""The local connector: patrons kept in Sésame for libraries whose SIGB has no usable interface."""
