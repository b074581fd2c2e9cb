"""The custom-run tab alone, for AppTest: quicker than the page; other tabs cannot break it."""

from regviz.ui import custom, resources

custom.draw(resources.pretrained_dir())
