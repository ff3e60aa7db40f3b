"""Parsing an add-entry upload: the multipart images through the hardened image intake (content check,
size and pixel limits, metadata stripped by re-encoding) and the entry's fields, each refusal a 4xx that
names the problem. The clean JPEG is what is enrolled and stored; the upload's own bytes go no further."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from lfr_platform.errors import InvalidInput
from lfr_platform.images import ImageLimits, ImageRefused, accept_image
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from lfr_watchlists.app.commands import UploadedImage
from lfr_watchlists.entrypoints.http.schemas import EntryFields

MAX_IMAGES_PER_ENTRY = 10


def entry_fields(form: FormData) -> EntryFields:
    raw: dict[str, Any] = {}
    if (details := form.get("details")) is not None:
        if not isinstance(details, str):
            raise InvalidInput("the 'details' field is JSON text, not a file", code="invalid_entry_fields")
        try:
            raw = json.loads(details)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"the 'details' field is not valid JSON: {error}",
                               code="invalid_entry_fields") from None
        if not isinstance(raw, dict):
            raise InvalidInput("the 'details' field must be a JSON object", code="invalid_entry_fields")
    for name in form:
        if name in ("details", "images"):
            continue
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        if name == "image_taken_on":
            raw[name] = [d for v in values for d in v.split(",") if d.strip()]
        elif values:
            raw[name] = values[-1] if values[-1] != "" else None
    try:
        return EntryFields.model_validate(raw)
    except ValidationError as error:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()]
        raise InvalidInput("the entry's fields are invalid: " + "; ".join(problems),
                           code="invalid_entry_fields", details={"problems": problems}) from None


async def uploaded_images(
    form: FormData, fields: EntryFields, limits: ImageLimits
) -> tuple[UploadedImage, ...]:
    files = [f for f in form.getlist("images") if isinstance(f, UploadFile)]
    if not files:
        raise InvalidInput("an entry needs at least one image (multipart field 'images')",
                           code="images_required")
    if len(files) > MAX_IMAGES_PER_ENTRY:
        raise InvalidInput(f"at most {MAX_IMAGES_PER_ENTRY} images per entry", code="too_many_images")
    if len(fields.image_taken_on) != len(files):
        raise InvalidInput(f"{len(files)} images but {len(fields.image_taken_on)} dates in 'image_taken_on': "
                           "give the date each image was taken, in upload order", code="image_dates_mismatch")
    images: list[UploadedImage] = []
    for index, (upload, taken_on) in enumerate(zip(files, fields.image_taken_on, strict=True)):
        data = await upload.read(limits.max_bytes + 1)
        try:
            accepted = await asyncio.to_thread(accept_image, data, limits)
        except ImageRefused as refusal:
            raise ImageRefused(f"image {index}: {refusal.message}",
                               details={**refusal.details, "image_index": index}) from None
        clean = await asyncio.to_thread(accepted.to_jpeg)
        accepted.rgb.fill(0)
        images.append(UploadedImage(content=clean, taken_on=taken_on))
    return tuple(images)
