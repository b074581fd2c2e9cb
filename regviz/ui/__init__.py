"""The page's sections, one module each.

With `streamlit_app.py`, this package is the only code that imports Streamlit.

`tables` and `findings` are the exception inside this package: pure pandas, so the
numbers the page shows are testable without Streamlit.
"""
