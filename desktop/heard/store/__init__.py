from heard.store.db import Store, StoreError

__all__ = ["Store", "StoreError"]
