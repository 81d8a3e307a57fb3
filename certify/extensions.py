"""Extension objects, created once and bound to the application in create_app()."""

from flask_login import LoginManager
from flask_wtf import CSRFProtect

from certify.core.database import Database

db = Database()
csrf = CSRFProtect()
login_manager = LoginManager()
