"""O ``course`` dos notebooks em português: o mesmo ``notebooks/course.py``, em português.

Cada notebook começa com ``import course``, e o Jupyter procura esse módulo primeiro na
pasta do notebook. Nesta pasta ele encontra este arquivo, que carrega o ``course.py`` da
pasta de cima (um só código para as duas línguas) com o português como língua, a menos
que ``CHATLAB_LANG`` diga outra coisa. Assim a célula de configuração é a mesma, palavra
por palavra, nas duas línguas, e as mensagens dos ajudantes (e do corretor) saem em
português.

The Portuguese notebooks' ``course``: ``notebooks/course.py``, with Portuguese as the
language unless ``CHATLAB_LANG`` says otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("CHATLAB_LANG", "pt_BR")

_SHARED = Path(__file__).resolve().parent.parent / "course.py"
_spec = importlib.util.spec_from_file_location("course", _SHARED)
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
# `import course` hands the notebook whatever sys.modules["course"] is once this file
# has run: the shared module.
sys.modules["course"] = _module
_spec.loader.exec_module(_module)
