"""Training machinery: the phase protocol models implement and the Trainer that runs it."""
