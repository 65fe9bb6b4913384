from heard.store.db import DuplicateAddress, Store, StoreError

__all__ = ["DuplicateAddress", "Store", "StoreError"]
