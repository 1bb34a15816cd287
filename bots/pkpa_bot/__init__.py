"""Bot-GovChat: answers questions about Malaysian government circulars."""
