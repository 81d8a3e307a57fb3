"""Forms of the public verification pages: a number, a PDF, a credential.

Nothing here is stored: the PDF and the credential are read, checked and
forgotten.  The size limits are far above anything this register issues and far
below what would let anyone tie the server up.
"""

from __future__ import annotations

from typing import IO

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from certify.certificates.numbering import MalformedNumber, normalise_number

MB = 1024 * 1024
PDF_MAX_BYTES = 20 * MB
CREDENTIAL_MAX_BYTES = 1 * MB
# What a filename in a message is cut to.
NAME_SHOWN = 80


def stream_size(stream: IO[bytes]) -> int:
    """Bytes in an uploaded file, read from where Werkzeug spooled it (not into memory)."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def shown_name(upload: FileStorage) -> str:
    name = (upload.filename or "the file").strip() or "the file"
    return name if len(name) <= NAME_SHOWN else name[: NAME_SHOWN - 1] + "…"


def megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB"


class NumberForm(FlaskForm):
    """Look a certificate up by the number printed on it (a GET form: nothing changes)."""

    class Meta:
        csrf = False

    number = StringField("Certificate number")

    normalised: str = ""

    def validate_number(self, field: StringField) -> None:
        try:
            self.normalised = normalise_number(field.data or "")
        except MalformedNumber as error:
            raise ValidationError(str(error)) from None


class PdfForm(FlaskForm):
    """A certificate's PDF, checked against the register and then forgotten."""

    pdf = FileField("PDF of the certificate")

    too_large = False

    def validate_pdf(self, field: FileField) -> None:
        upload = field.data
        if not isinstance(upload, FileStorage):
            raise ValidationError("Choose the certificate's PDF file (or drop it on the box).")
        size = stream_size(upload.stream)
        if size == 0:
            raise ValidationError(f"{shown_name(upload)} is empty (0 bytes): choose the "
                                  "certificate's PDF file.")
        if size > PDF_MAX_BYTES:
            self.too_large = True
            raise ValidationError(
                f"{shown_name(upload)} is {megabytes(size)}; a certificate's PDF is far "
                f"smaller, and files over {megabytes(PDF_MAX_BYTES)} are not checked.")


class CredentialForm(FlaskForm):
    """A signed credential (VC-JWT), pasted or in a file, checked and then forgotten."""

    credential = TextAreaField("Paste the credential")
    credential_file = FileField("Or choose the file that holds it")

    text: str = ""
    too_large = False

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        pasted = (self.credential.data or "").strip()
        upload = self.credential_file.data
        if not isinstance(upload, FileStorage):
            upload = None
        if pasted and upload is not None:
            self.credential.errors.append(
                "Paste the credential or choose a file, not both: clear the box to check "
                "the file.")
            return False
        if upload is not None:
            text = self._read(upload)
            if text is None:
                return False
            self.text = text
            return True
        if not pasted:
            self.credential.errors.append(
                "Paste the credential (a long text of three parts separated by dots), or "
                "choose the file that holds it.")
            return False
        self.text = pasted
        return True

    def _read(self, upload: FileStorage) -> str | None:
        errors = self.credential_file.errors
        size = stream_size(upload.stream)
        name = shown_name(upload)
        if size == 0:
            errors.append(f"{name} is empty (0 bytes): choose the file that holds the "
                          "credential.")
            return None
        if size > CREDENTIAL_MAX_BYTES:
            self.too_large = True
            errors.append(f"{name} is {megabytes(size)}; a credential is a few kilobytes, "
                          f"and files over {megabytes(CREDENTIAL_MAX_BYTES)} are not read.")
            return None
        data = upload.stream.read(CREDENTIAL_MAX_BYTES + 1)
        try:
            # utf-8-sig: editors on Windows start text files with a byte-order mark.
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors.append(f"{name} is not a text file: a credential file holds the "
                          "credential as text (a .jwt or .json file).")
            return None
