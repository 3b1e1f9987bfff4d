"""Pure document core: HTML, PDF, photos, QR codes and seal images, bytes in and bytes out."""
