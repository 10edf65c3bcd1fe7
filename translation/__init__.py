"""Translation for babelroom: language detection, Argos engines, batching, caches,
package management. Never imports `chat` or `web`.

The chat layer uses `TranslationService` (see service.py) configured by
`TranslationSettings`; `SharedCache` is what the redis backend implements.
"""

from translation.cache import SharedCache
from translation.languages import is_rtl, language_name, primary_subtag
from translation.packages import PackageError, PackageInfo
from translation.service import Translated, TranslationService
from translation.settings import TranslationSettings

__all__ = [
    "PackageError",
    "PackageInfo",
    "SharedCache",
    "Translated",
    "TranslationService",
    "TranslationSettings",
    "is_rtl",
    "language_name",
    "primary_subtag",
]
