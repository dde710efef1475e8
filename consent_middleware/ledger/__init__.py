"""The consent ledger: the events that prove each choice, the SQL stores, the journals.

The recorder makes a choice durable (committed, or fsynced to a journal) before it is answered.
"""
