"""Identity: who is calling (principals and their roles), API tokens, authorisation rules and the audit
log of every mutation. The catalogue, booking and exercise use cases check and record through here."""
