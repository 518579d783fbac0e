"""Governance: who did what (audit log), who may do what (users, roles), and the paperwork."""
