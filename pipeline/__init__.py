"""Stages that take a certificate file to words on upright pages, and on to a record."""
