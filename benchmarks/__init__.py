"""Tools that measure regviz (trainer, page, load); outside the package they measure."""
