// The one translation table. Every visible string goes through t(key, vars); template text
// (bilingual {en, ur} objects) through tx(). Numbers and dates go through Intl, in Western digits
// for both languages (what Punjab Police forms use). setLang switches `lang` and `dir` on <html>
// and tells the app to re-render.
//
// A value may be a string or {one, other} picked by Intl.PluralRules on vars.count. {name}
// placeholders are replaced by vars; numbers among vars are formatted for the language.

import { kv } from './db.js';
import { displayPercent } from './scoring.js';

const en = {
  'app.name': 'Muaina',
  'app.home': 'Muaina, home',
  'app.skip': 'Skip to content',
  'lang.switch': 'اردو میں دیکھیں — switch to Urdu',
  ok: 'OK', cancel: 'Cancel', close: 'Close',
  'nav.home': 'Home',
  'error.title': 'Something went wrong',
  'error.generic': 'Something went wrong. Try again.',
  'error.notFound': 'This inspection is not on this phone.',
  'error.offline': 'No connection. Try again when the phone is online.',
  'error.screenOffline': 'This screen needs a connection the first time it is opened on this device. Try again when online.',
  'error.signedOut': 'Your session has ended. Sign in again.',
  'error.forbidden': 'You may not do this.',
  'error.busy': 'The server could not do this just now. Try again in a minute.',
  'error.refused': 'The server did not accept this.',
  'error.cutOff': 'The connection broke before the server’s reply arrived in full. Try again.',
  'error.downloadCutOff': 'The download was cut off before it finished; nothing was saved. Try again.',
  'error.retry': 'Try again',
  'loading': 'Loading…',
  'save.full': 'Not saved: this phone’s storage is full. Free some space (old photos, videos, apps); your next change then saves everything on screen.',
  'save.failed': 'Not saved on this phone. Change the answer again; if this keeps happening, restart Muaina.',
  'update.ready': 'A new version of Muaina is ready.',
  'update.reload': 'Update now',
  'update.needed': 'This screen needs the new version of Muaina, which the server has now. Your work on this phone is kept.',
  'update.elsewhere': 'Muaina was updated in another tab. Reload this one to use the new version.',
  'db.supersededTitle': 'Muaina was updated',
  'db.superseded': 'Muaina was updated in another tab: reload to keep saving. What was saved on this phone is kept.',
  'db.reload': 'Reload',
  'db.newer': 'This phone holds data of a newer version of Muaina; update the app to continue. Nothing has been deleted.',
  'role.inspector': 'Inspector', 'role.reviewer': 'Reviewer', 'role.admin': 'Administrator',
  'kind.police_station': 'Police station', 'kind.khidmat_markaz': 'Khidmat Markaz',
  'kind.driving_centre': 'Driving licence centre', 'kind.other': 'Other facility',

  'login.title': 'Sign in',
  'login.lead': 'Sign in once while online. After that Muaina works without a connection.',
  'login.username': 'Username', 'login.password': 'Password', 'login.submit': 'Sign in',
  'login.required': 'Enter your username and password.',
  'login.wrong': 'The username or password is not right.',
  'login.throttled': 'Too many attempts. Wait a few minutes and try again.',
  'login.switchedOff': 'This account is switched off. Ask your administrator to switch it on again; everything on this phone is kept.',
  'login.offline': 'No connection. You need to be online to sign in the first time.',
  'login.otherUser': 'Another user has work on this phone that is not sent yet. Sign in as that user and send it first.',
  'reauth.title': 'Sign in again to send your work',
  'reauth.body': 'Your session has ended. Nothing on this phone has been lost: sign in again and it will be sent.',
  'reauth.later': 'Later',
  // An admin who changes their own account so that it no longer opens the admin console (views/admin/users.js).
  'admin.self.demoteTitle': 'Stop being an administrator?',
  'admin.self.demoteBody': 'You will no longer be an administrator. You will leave the admin console now and be signed out; sign in again to continue as {role}.',
  'admin.self.demoteOk': 'Change my role',
  'admin.self.deactivateTitle': 'Deactivate your own account?',
  'admin.self.deactivateBody': 'You will no longer be an administrator. You will leave the admin console now, be signed out on every phone and computer, and cannot sign in until another administrator reactivates your account.',
  'admin.self.deactivateOk': 'Deactivate my account',
  'admin.self.demoted': 'Your role is now {role}. You have left the admin console and been signed out: sign in again to continue.',
  'admin.self.deactivated': 'Your account is deactivated and you have been signed out. Another administrator can reactivate it.',
  'admin.self.nowRole': 'Your role is now {role}.',

  'sync.all': 'All on server',
  'sync.waiting': { one: '{count} waiting to send', other: '{count} waiting to send' },
  'sync.photos': { one: '{count} photo', other: '{count} photos' },
  'space.low': 'This phone is running out of space for Muaina: {free} left.',
  'space.room': { one: 'Room for about {count} more photo. Connect to send what is waiting: each photo sent frees its space.', other: 'Room for about {count} more photos. Connect to send what is waiting: each photo sent frees its space.' },
  'sync.attention': { one: '{count} needs attention', other: '{count} need attention' },
  'sync.drafts': 'Drafts on phone',
  'sync.signin': 'Sign in to send',
  'sync.returned': { one: 'On server · {count} returned to you', other: 'On server · {count} returned to you' },

  'state.draft': 'Draft — on this phone only',
  'state.returned': 'Returned for correction',
  'state.returnedOnServer': 'Returned to you — on the server',
  'state.savedOnPhone': 'Saved on this phone',
  'state.savedOnPhoneLong': 'Saved on this phone — will send when online.',
  'state.queued': 'Waiting to send',
  'state.sending': 'Sending…',
  'state.sendingLong': 'Sending to the server. You can keep using the phone.',
  'state.onServer': 'On server',
  'state.onServerLong': 'The server has this inspection. Nothing is left to send.',
  'state.onServerPhotos': { one: 'On server — {count} photo still to send', other: 'On server — {count} photos still to send' },
  'state.attention': 'Needs attention',
  'state.attentionLong': 'The server did not accept this. Read its message above; nothing has been deleted.',
  'state.photosWaiting': { one: '{count} photo waiting', other: '{count} photos waiting' },
  // A photo sent in parts over a weak link (outbox.sendInParts): how much of it the server has.
  'state.photoProgress': 'Photo {n} of {total}: {sent} of {size} KB sent',

  'home.title': 'Home',
  'home.hello': 'Assalam-o-Alaikum, {name}',
  'home.noBundle': 'Stations and checklists are not on this phone yet. Connect to the internet to download them.',
  'home.attention': 'Needs attention',
  'home.returned': 'Returned for correction',
  'home.drafts': 'In progress',
  'home.waiting': 'Waiting to send',
  'home.assignments': 'My assignments',
  'home.sent': 'Sent recently',
  'home.stations': 'All stations',
  'home.searchLabel': 'Search stations by name or code',
  'home.searchPlaceholder': 'Station name or code',
  'home.stationCount': { one: '{count} station', other: '{count} stations' },
  'home.overdueOn': 'Overdue — was due {date}',
  'home.dueOn': 'Due {date}',
  'home.inProgress': 'Started',
  'home.submitted': 'Submitted',
  'home.submittedLate': 'Submitted late — was due {date}',
  'home.withdrawn': 'Checklist withdrawn',
  'home.updated': 'Changed {when}',
  'home.unknownStation': 'Station not on this phone',
  'home.nothing': 'No assignments or drafts. Pick a station below to start an inspection.',

  'start.noStation': 'This station is not on this phone.',
  'start.location': 'Your location',
  'start.locating': 'Finding your location…',
  'start.accuracy': 'GPS accuracy ±{accuracy} m',
  'start.near': 'At the station — {distance} away',
  'start.far': 'Far from the station — {distance} away',
  'start.farHint': 'You can still start. The distance is recorded with the inspection.',
  'start.noFix': 'No GPS fix yet',
  'start.denied': 'Location permission is off',
  'start.noFixHint': 'You can still start. Muaina keeps trying and records the location when it has one.',
  'start.template': 'Checklist',
  'start.noTemplate': 'No checklist for this station on this phone.',
  'start.withdrawn': 'This checklist has been withdrawn: a new inspection cannot be started on it. Ask your supervisor which checklist to use.',
  'start.openActions': { one: '{count} corrective action at this station is to be checked. It is shown in the form.', other: '{count} corrective actions at this station are to be checked. They are shown in the form.' },
  'start.sips': 'SIPS',
  'start.begin': 'Start inspection',
  'start.begunHere': 'You began an inspection of this station on this checklist on {when}. It is on this phone.',
  'start.continue': 'Continue that inspection',

  'fill.noTemplate': 'The checklist of this inspection is not on this phone. Connect to download it.',
  'fill.templateGone': 'This checklist version was removed from the server, so this inspection can no longer be opened or sent from this phone. Your answers are kept on this phone; tell your reviewer.',
  // An inspection whose checklist version the server does not have, moved to the current one (inspector/common.js moveCallout).
  'move.title': 'Move to the current checklist',
  'move.body': 'The checklist version this inspection was filled on was removed from the server, so it cannot be sent as it is. Version {version} of the same checklist is on this phone: move your answers and photos to it, check them and submit again.',
  'move.button': 'Move my answers to version {version}',
  'move.confirmTitle': 'Move to version {version}?',
  'move.confirmBody': 'This inspection becomes a draft on version {version}, with your answers and photos. None of it has reached the server yet.',
  'move.leftOut': { one: 'This item is not in version {version}. Its answer, note and photos will be deleted from this phone:', other: 'These {count} items are not in version {version}. Their answers, notes and photos will be deleted from this phone:' },
  'move.cleared': { one: 'This answer does not fit its item in version {version}; answer it again (its note and photos stay):', other: 'These {count} answers do not fit their items in version {version}; answer them again (their notes and photos stay):' },
  'move.yes': 'Move',
  'fill.step': 'Section {n} of {total}',
  'fill.steps': 'Sections',
  'fill.progress': '{done} of {total} answered',
  'fill.sectionScore': 'Section score {percent}',
  'fill.stillToAnswer': { one: '{count} item still to answer in this section', other: '{count} items still to answer in this section' },
  'fill.needPhotos': '{label} — photos {have} of {need}',
  'fill.sectionDone': 'Everything required in this section is answered',
  'fill.prev': 'Previous section',
  'fill.next': 'Next section',
  'fill.toReview': 'Review and submit',

  'answer.yes': 'Yes', 'answer.no': 'No', 'answer.na': 'N.A.',
  'item.required': 'Required',
  'item.critical': 'Critical',
  'item.failed': 'Failed',
  'item.criticalFailed': 'Critical failure',
  'item.help': 'Help for this question',
  'item.scaleHint': '0 = worst, {max} = best',
  'item.multiHint': 'Choose all that apply',
  'item.clear': 'Clear answer',
  'item.range': 'Acceptable: {min} to {max}',
  'item.rangeMin': 'Acceptable: at least {min}',
  'item.rangeMax': 'Acceptable: at most {max}',
  'item.notANumber': 'Not a number: type digits only, with a point for a fraction (e.g. 12 or 4.5)',
  'item.addNote': 'Add a note',
  'item.noteFor': 'Note for: {label}',

  'photo.camera': 'Take photo',
  'photo.gallery': 'From gallery',
  'photo.processing': 'Preparing photo…',
  'photo.failed': 'This picture could not be read. Try another one.',
  'photo.full': 'The photo was not kept: this phone’s storage is full. Free some space, then take it again.',
  'photo.tooMany': 'An item takes at most {max} photos; the others were not added.',
  'photo.count': { one: '{count} photo', other: '{count} photos' },
  'photo.countOk': 'Photos {have} of {need}',
  'photo.countShort': 'Photos {have} of {need} — more needed',
  'photo.list': 'Photos for: {label}',
  'photo.alt': 'Photo {n}: {label}',
  'photo.onServer': 'On server',
  'photo.delete': 'Delete photo',

  'actions.title': 'Corrective actions to check',
  'actions.item': '{text} (due {due})',
  'actions.onItem': 'Corrective action open: {text} (due {due})',
  'actions.itemDone': '{text}: reported fixed — please check and verify',
  'actions.onItemDone': 'Corrective action reported fixed — please check and verify: {text}',
  'actions.seenFixed': 'Seen fixed',
  'actions.checkTitle': 'Did you see this fixed?',
  'actions.checkLead': 'Say what you saw. The action closes as verified, with your note, when the phone next sends.',
  'actions.checkNote': 'What did you see?',
  'actions.noteNeeded': 'Say what you saw first.',
  'actions.checkConfirm': 'Mark verified',
  'actions.checkQueued': 'Marked verified: waiting to send',
  'actions.checkRefused': 'Marked verified, but not accepted',
  'actions.dropCheck': 'Remove this check',
  'actions.checkSent': 'Verified: sent to the office',
  'actions.closedMeanwhile': 'A corrective action you marked verified had already been closed by the office; your note was not added.',
  'actions.criticalFailed': 'Critical item failed: {item}',
  'actions.sho': 'SHO, {station}',

  'review.title': 'Review before submitting',
  'review.statusTitle': 'Inspection',
  'review.score': 'Score',
  'review.grade': 'Grade {grade}',
  'review.sectionScores': 'Score of each section',
  'review.criticalFailed': { one: '{count} critical item failed', other: '{count} critical items failed' },
  'review.missing': { one: '{count} thing to do before submitting', other: '{count} things to do before submitting' },
  'review.fixFirst': 'Tap an item to go to it. Submit becomes available when all are done.',
  'review.submit': 'Submit inspection',
  'review.hiddenPhotos': { one: '{count} photo is on a question your answers now hide. It will not be sent, and Submit deletes it from this phone:', other: '{count} photos are on questions your answers now hide. They will not be sent, and Submit deletes them from this phone:' },
  'review.backToForm': 'Back to the form',
  'review.discard': 'Delete this draft',
  'review.discardBody': 'This draft was never sent. Deleting it removes its answers and photos from this phone.',
  'review.discardYes': 'Delete draft',
  'review.where': 'Location',
  'review.location': 'Recorded with GPS accuracy ±{accuracy} m',
  'review.finished': 'Submitted on this phone {when}',
  'review.serverScore': 'Score calculated by the server: {percent}',
  'review.returnedTitle': 'Returned by the reviewer',
  'review.itemComments': { one: 'The reviewer commented on {count} item; the comment is shown on it.', other: 'The reviewer commented on {count} items; comments are shown on them.' },
  'review.commentOnItem': 'Reviewer’s comment',
  'grade.fail': 'Fail (critical item failed)',

  'attention.title': 'The server refused this (error {status})',
  'attention.conflictTitle': 'Changed somewhere else',
  'attention.conflictBody': 'The server has a newer version of this inspection than the one you edited. Choose which to keep. Your answers are still on this phone.',
  'attention.invalidTitle': 'The server found problems',
  'attention.invalidBody': 'Fix the items below and submit again. Your answers are still on this phone.',
  'attention.server': 'Server:',
  'attention.needsAnswer': 'needs an answer',
  'attention.needsPhotos': { one: 'needs at least {count} photo', other: 'needs at least {count} photos' },
  'attention.notInChecklist': 'is not in this checklist any more',
  'attention.notAccepted': 'this answer was not accepted; answer it again',
  'attention.fieldChecklist': 'Checklist',
  'attention.fieldStation': 'Station',
  'attention.fieldLocation': 'Location',
  'attention.fieldFinished': 'Finish time',
  'attention.placeFixed': 'the place of a submitted inspection cannot change. For a new visit, start a new inspection',
  'attention.finishBeforeStart': 'the finish time is before the start time. Check this phone’s date and time, then submit again',
  'attention.versionNotOnServer': 'this version of the checklist is not on the server. Connect, so that this phone gets the version the server has, then move your answers to it; your answers are still on this phone',
  'attention.notForStation': 'this checklist is no longer used at this station. Your answers are still on this phone; tell your supervisor',
  'attention.accessTitle': 'The server would not take this from you',
  'attention.accessBody': 'This station is not in your area on the server any more, or your account cannot send inspections now. Everything is kept on this phone. Ask your administrator to give the station back to you; then tap Try again (it is also tried again when you next sign in).',
  'attention.tryAgain': 'Try again',
  'attention.choose': 'What do you want to do?',
  'attention.keepMine': 'Send my version as the newest',
  'attention.serverFinal': 'The server’s version was submitted or reviewed meanwhile, so it can no longer be changed from this phone. Take the server’s version; if your answers differ, tell your reviewer.',
  'attention.takeServer': 'Use the server’s version',
  'attention.takeServerBody': 'Your answers on this phone will be replaced by the server’s version.',

  'outbox.title': 'Waiting to send',
  'outbox.lead': 'Sent in this order. Each stays on this phone until the server confirms it.',
  'outbox.empty': 'Nothing waiting. Everything is on the server.',
  'outbox.nothingQueued': 'Nothing waiting to send.',
  'outbox.retryOffline': 'Not sent yet: no connection to the server. The phone tries again by itself.',
  'outbox.retryServer': 'Not sent yet: the server could not take it just now. The phone tries again by itself.',
  'outbox.draftsTitle': 'Drafts on this phone',
  'outbox.draftsLead': 'Saved only on this phone. Each is sent to the server when you submit it.',
  'outbox.returnedTitle': 'Returned to you',
  'outbox.returnedLead': 'On the server, returned by the reviewer for correction. Nothing is sent until you change them.',
  'outbox.inspection': 'Inspection: {station}',
  'outbox.photosLeft': { one: '{count} photo still to send ({size})', other: '{count} photos still to send ({size})' },
  'outbox.actionCheck': 'Corrective action seen fixed: {text}',
  'outbox.sendNow': 'Send now',
  'outbox.templateGone': 'This inspection cannot be sent: its checklist is no longer on this phone or on the server. Your answers are kept on this phone; tell your supervisor.',
  'refused.title': { one: 'The server did not accept {count} photo', other: 'The server did not accept {count} photos' },
  'refused.body': 'Sending a refused photo again will not help. Remove it, and the rest of this inspection is sent: its other photos and answers are kept.',
  'refused.tooLarge': 'Too large for the server.',
  'refused.notImage': 'Not a photo format the server accepts.',
  'refused.unreadable': 'The server could not read this photo; it may be damaged.',
  'refused.refused': 'The server did not accept this photo.',
  'refused.remove': 'Remove this photo',
  'refused.removeTitle': 'Remove this photo?',
  'refused.removeBody': 'It is deleted from this phone. The server never took it, so it is not there either. Nothing else is deleted: the inspection’s other photos and answers are then sent.',
  'refused.removeYes': 'Remove photo',
  'refused.removedNote': {
    one: '{count} photo the server did not accept was removed from this phone. The inspection had already been submitted, so your reviewer will see this photo as missing. If they return the inspection, you can take a new one for:',
    other: '{count} photos the server did not accept were removed from this phone. The inspection had already been submitted, so your reviewer will see these photos as missing. If they return the inspection, you can take new ones for:',
  },

  'settings.title': 'Settings',
  'settings.account': 'Account',
  'settings.digits': 'Digits in Urdu',
  'settings.digitsLatn': 'Western 123',
  'settings.digitsUrdu': 'Urdu ۱۲۳',
  'settings.language': 'Language',
  'settings.data': 'Stations and checklists',
  'settings.updated': 'Last updated {when}',
  'settings.never': 'Not downloaded yet',
  'settings.counts': '{stations} stations, {templates} checklists on this phone',
  'settings.refresh': 'Update now',
  'settings.refreshed': 'Up to date.',
  'storage.title': 'Storage on this phone',
  'storage.used': 'Muaina uses {used}',
  'storage.free': 'Free for Muaina: {free}',
  'storage.persisted': 'Protected: the phone will not clear Muaina’s data',
  'storage.notPersisted': 'Not protected: the phone may clear data when space runs low',
  'storage.ask': 'Protect my data',
  'storage.denied': 'The browser did not allow it. Installing Muaina on the home screen usually helps.',
  'password.heading': 'Password',
  'password.settingsHint': 'Changing it signs you out on every other phone and computer.',
  'password.open': 'Change password',
  'password.title': 'Change password',
  'password.lead': 'Choose a new password that only you know. You stay signed in here; everywhere else you are signed out and sign in with the new password.',
  'password.needsNetwork': 'This needs a connection. Nothing is kept on the phone to send later.',
  'password.current': 'Current password',
  'password.new': 'New password',
  'password.newHint': 'At least 8 characters, not the same as the current one.',
  'password.again': 'New password again',
  'password.submit': 'Change password',
  'password.required': 'Enter your current password.',
  'password.wrong': 'This is not your current password.',
  'password.short': 'Use at least 8 characters.',
  'password.long': 'Use at most 256 characters.',
  'password.same': 'The new password must be different from the current one.',
  'password.mismatch': 'The two new passwords are not the same.',
  'password.offline': 'No connection: your password has not been changed. Try again when the phone is online.',
  'password.throttled': 'Too many wrong passwords here. Sign out and sign in again to try again.',
  'password.conflict': 'An administrator reset your password meanwhile. Sign in again.',
  'password.done': 'Your password has been changed. Use the new one the next time you sign in. Every other phone or computer signed in as you has been signed out.',
  'password.back': 'Back to settings',
  'password.later': 'Go on to my work; I will choose it later',
  'password.mustChange': 'Your password was set by an administrator. Choose your own to go on.',
  'password.mustChangeCurrent': 'Your current password is the one the administrator gave you.',
  'password.signOutInstead': 'Sign out instead (in Settings)',
  'signout.title': 'Sign out',
  'signout.button': 'Sign out of this phone',
  'signout.refused': 'You cannot sign out yet: some work is only on this phone. Send or finish it first, then sign out.',
  'signout.desk': {
    one: '{count} review or template change begun here has not been sent. Signing out deletes it from this device.',
    other: '{count} reviews or template changes begun here have not been sent. Signing out deletes them from this device.',
  },
  'signout.returned': {
    one: '{count} inspection was returned to you for correction. It stays on the server and comes back to this phone when you sign in again.',
    other: '{count} inspections were returned to you for correction. They stay on the server and come back to this phone when you sign in again.',
  },
};

const ur = {
  'app.name': 'معائنہ',
  'app.home': 'معائنہ، ہوم',
  'app.skip': 'مواد پر جائیں',
  'lang.switch': 'Switch to English — انگریزی میں دیکھیں',
  ok: 'ٹھیک ہے', cancel: 'منسوخ', close: 'بند کریں',
  'nav.home': 'ہوم',
  'error.title': 'کچھ غلط ہو گیا',
  'error.generic': 'کچھ غلط ہو گیا۔ دوبارہ کوشش کریں۔',
  'error.notFound': 'یہ معائنہ اس فون میں موجود نہیں۔',
  'error.offline': 'رابطہ نہیں ہے۔ فون آن لائن ہو تو دوبارہ کوشش کریں۔',
  'error.screenOffline': 'اس آلے پر یہ اسکرین پہلی بار کھولنے کے لیے انٹرنیٹ درکار ہے۔ آن لائن ہونے پر دوبارہ کوشش کریں۔',
  'error.signedOut': 'آپ کا سیشن ختم ہو گیا ہے۔ دوبارہ سائن اِن کریں۔',
  'error.forbidden': 'آپ یہ کام نہیں کر سکتے۔',
  'error.busy': 'سرور ابھی یہ کام نہ کر سکا۔ ایک منٹ بعد دوبارہ کوشش کریں۔',
  'error.refused': 'سرور نے اسے قبول نہیں کیا۔',
  'error.cutOff': 'سرور کا جواب پورا پہنچنے سے پہلے رابطہ ٹوٹ گیا۔ دوبارہ کوشش کریں۔',
  'error.downloadCutOff': 'ڈاؤن لوڈ مکمل ہونے سے پہلے ہی منقطع ہو گیا؛ کچھ محفوظ نہیں ہوا۔ دوبارہ کوشش کریں۔',
  'error.retry': 'دوبارہ کوشش کریں',
  'loading': 'لوڈ ہو رہا ہے…',
  'save.full': 'محفوظ نہیں ہوا: اس فون میں جگہ ختم ہو گئی ہے۔ کچھ جگہ خالی کریں (پرانی تصاویر، ویڈیوز، ایپس)؛ پھر اگلی تبدیلی اسکرین پر موجود سب کچھ محفوظ کر دے گی۔',
  'save.failed': 'اس فون پر محفوظ نہیں ہوا۔ جواب دوبارہ دیں؛ اگر بار بار ایسا ہو تو معائنہ دوبارہ کھولیں۔',
  'update.ready': 'معائنہ کا نیا ورژن تیار ہے۔',
  'update.reload': 'ابھی اپ ڈیٹ کریں',
  'update.needed': 'اس اسکرین کے لیے معائنہ کا نیا ورژن درکار ہے، جو اب سرور پر ہے۔ اس فون پر آپ کا کام محفوظ ہے۔',
  'update.elsewhere': 'معائنہ کو دوسرے ٹیب میں اپ ڈیٹ کیا گیا ہے۔ نیا ورژن استعمال کرنے کے لیے یہ صفحہ دوبارہ لوڈ کریں۔',
  'db.supersededTitle': 'معائنہ اپ ڈیٹ ہو گیا ہے',
  'db.superseded': 'معائنہ کو دوسرے ٹیب میں اپ ڈیٹ کیا گیا ہے: محفوظ کرنا جاری رکھنے کے لیے یہ صفحہ دوبارہ لوڈ کریں۔ اس فون پر جو محفوظ ہو چکا ہے وہ برقرار ہے۔',
  'db.reload': 'دوبارہ لوڈ کریں',
  'db.newer': 'اس فون پر معائنہ کے نئے ورژن کا ڈیٹا موجود ہے؛ جاری رکھنے کے لیے ایپ اپ ڈیٹ کریں۔ کچھ بھی حذف نہیں کیا گیا۔',
  'role.inspector': 'معائنہ کار', 'role.reviewer': 'جائزہ کار', 'role.admin': 'منتظم',
  'kind.police_station': 'پولیس اسٹیشن', 'kind.khidmat_markaz': 'خدمت مرکز',
  'kind.driving_centre': 'ڈرائیونگ لائسنس سینٹر', 'kind.other': 'دیگر مرکز',

  'login.title': 'سائن اِن',
  'login.lead': 'ایک بار انٹرنیٹ کے ساتھ سائن اِن کریں۔ اس کے بعد معائنہ بغیر رابطے کے بھی کام کرتا ہے۔',
  'login.username': 'صارف نام', 'login.password': 'پاس ورڈ', 'login.submit': 'سائن اِن کریں',
  'login.required': 'اپنا صارف نام اور پاس ورڈ درج کریں۔',
  'login.wrong': 'صارف نام یا پاس ورڈ درست نہیں۔',
  'login.throttled': 'بہت زیادہ کوششیں ہو گئیں۔ چند منٹ انتظار کر کے دوبارہ کوشش کریں۔',
  'login.switchedOff': 'یہ اکاؤنٹ غیر فعال کر دیا گیا ہے۔ اپنے منتظم سے اسے دوبارہ فعال کرنے کو کہیں؛ اس فون پر موجود سب کچھ محفوظ ہے۔',
  'login.offline': 'رابطہ نہیں ہے۔ پہلی بار سائن اِن کے لیے انٹرنیٹ ضروری ہے۔',
  'login.otherUser': 'اس فون پر کسی اور صارف کا کام ابھی بھیجا نہیں گیا۔ پہلے اسی صارف سے سائن اِن کر کے اسے بھیجیں۔',
  'reauth.title': 'اپنا کام بھیجنے کے لیے دوبارہ سائن اِن کریں',
  'reauth.body': 'آپ کا سیشن ختم ہو گیا ہے۔ اس فون سے کچھ ضائع نہیں ہوا: دوبارہ سائن اِن کریں تو سب بھیج دیا جائے گا۔',
  'reauth.later': 'بعد میں',
  'admin.self.demoteTitle': 'منتظم کا کردار چھوڑیں؟',
  'admin.self.demoteBody': 'آپ منتظم نہیں رہیں گے۔ آپ ابھی انتظامیہ کے حصے سے نکل جائیں گے اور سائن آؤٹ ہو جائیں گے؛ {role} کے طور پر جاری رکھنے کے لیے دوبارہ سائن اِن کریں۔',
  'admin.self.demoteOk': 'میرا کردار بدلیں',
  'admin.self.deactivateTitle': 'اپنا اکاؤنٹ غیر فعال کریں؟',
  'admin.self.deactivateBody': 'آپ منتظم نہیں رہیں گے۔ آپ ابھی انتظامیہ کے حصے سے نکل جائیں گے، ہر فون اور کمپیوٹر سے سائن آؤٹ ہو جائیں گے، اور جب تک کوئی دوسرا منتظم آپ کا اکاؤنٹ دوبارہ فعال نہ کرے، سائن اِن نہیں کر سکیں گے۔',
  'admin.self.deactivateOk': 'میرا اکاؤنٹ غیر فعال کریں',
  'admin.self.demoted': 'آپ کا کردار اب {role} ہے۔ آپ انتظامیہ کے حصے سے نکل گئے ہیں اور سائن آؤٹ ہو گئے ہیں: جاری رکھنے کے لیے دوبارہ سائن اِن کریں۔',
  'admin.self.deactivated': 'آپ کا اکاؤنٹ غیر فعال ہو گیا ہے اور آپ سائن آؤٹ ہو گئے ہیں۔ کوئی دوسرا منتظم اسے دوبارہ فعال کر سکتا ہے۔',
  'admin.self.nowRole': 'آپ کا کردار اب {role} ہے۔',

  'sync.all': 'سب سرور پر',
  'sync.waiting': { one: '{count} بھیجنا باقی', other: '{count} بھیجنا باقی' },
  'sync.photos': { one: '{count} تصویر', other: '{count} تصاویر' },
  'space.low': 'اس فون پر معائنہ کے لیے جگہ ختم ہو رہی ہے: {free} باقی ہے۔',
  'space.room': { one: 'تقریباً {count} مزید تصویر کی جگہ ہے۔ جو بھیجنا باقی ہے اسے بھیجنے کے لیے انٹرنیٹ سے جڑیں: ہر بھیجی گئی تصویر اپنی جگہ خالی کر دیتی ہے۔', other: 'تقریباً {count} مزید تصاویر کی جگہ ہے۔ جو بھیجنا باقی ہے اسے بھیجنے کے لیے انٹرنیٹ سے جڑیں: ہر بھیجی گئی تصویر اپنی جگہ خالی کر دیتی ہے۔' },
  'sync.attention': { one: '{count} پر توجہ درکار', other: '{count} پر توجہ درکار' },
  'sync.drafts': 'مسودے فون پر',
  'sync.signin': 'بھیجنے کے لیے سائن اِن کریں',
  'sync.returned': { one: 'سرور پر · {count} آپ کو واپس', other: 'سرور پر · {count} آپ کو واپس' },

  'state.draft': 'مسودہ — صرف اس فون پر',
  'state.returned': 'درستی کے لیے واپس',
  'state.returnedOnServer': 'آپ کو واپس — سرور پر موجود',
  'state.savedOnPhone': 'اس فون پر محفوظ',
  'state.savedOnPhoneLong': 'اس فون پر محفوظ ہے — انٹرنیٹ ملتے ہی بھیج دیا جائے گا۔',
  'state.queued': 'بھیجنے کا منتظر',
  'state.sending': 'بھیجا جا رہا ہے…',
  'state.sendingLong': 'سرور کو بھیجا جا رہا ہے۔ آپ فون استعمال کرتے رہیں۔',
  'state.onServer': 'سرور پر موجود',
  'state.onServerLong': 'یہ معائنہ سرور پر پہنچ چکا ہے۔ بھیجنے کو کچھ باقی نہیں۔',
  'state.onServerPhotos': { one: 'سرور پر موجود — {count} تصویر ابھی بھیجنا باقی', other: 'سرور پر موجود — {count} تصاویر ابھی بھیجنا باقی' },
  'state.attention': 'توجہ درکار',
  'state.attentionLong': 'سرور نے اسے قبول نہیں کیا۔ اوپر اس کا پیغام پڑھیں؛ کچھ بھی حذف نہیں ہوا۔',
  'state.photosWaiting': { one: '{count} تصویر منتظر', other: '{count} تصاویر منتظر' },
  'state.photoProgress': 'تصویر {total} میں سے {n}: {size} KB میں سے {sent} KB بھیجے جا چکے',

  'home.title': 'ہوم',
  'home.hello': 'السلام علیکم، {name}',
  'home.noBundle': 'تھانے اور چیک لسٹیں ابھی اس فون پر نہیں ہیں۔ انہیں ڈاؤن لوڈ کرنے کے لیے انٹرنیٹ سے جڑیں۔',
  'home.attention': 'توجہ درکار',
  'home.returned': 'درستی کے لیے واپس',
  'home.drafts': 'جاری معائنے',
  'home.waiting': 'بھیجنے کے منتظر',
  'home.assignments': 'میرے ذمے معائنے',
  'home.sent': 'حال ہی میں بھیجے گئے',
  'home.stations': 'تمام تھانے',
  'home.searchLabel': 'تھانہ نام یا کوڈ سے تلاش کریں',
  'home.searchPlaceholder': 'تھانے کا نام یا کوڈ',
  'home.stationCount': { one: '{count} تھانہ', other: '{count} تھانے' },
  'home.overdueOn': 'تاریخ گزر گئی — {date} تک تھا',
  'home.dueOn': 'آخری تاریخ {date}',
  'home.inProgress': 'شروع ہو چکا',
  'home.submitted': 'جمع ہو چکا',
  'home.submittedLate': 'تاخیر سے جمع ہوا — {date} تک تھا',
  'home.withdrawn': 'چیک لسٹ واپس لے لی گئی',
  'home.updated': 'آخری تبدیلی {when}',
  'home.unknownStation': 'تھانہ اس فون پر موجود نہیں',
  'home.nothing': 'کوئی ذمہ داری یا مسودہ نہیں۔ معائنہ شروع کرنے کے لیے نیچے سے تھانہ چنیں۔',

  'start.noStation': 'یہ تھانہ اس فون پر موجود نہیں۔',
  'start.location': 'آپ کا مقام',
  'start.locating': 'آپ کا مقام معلوم کیا جا رہا ہے…',
  // ± and its number in a left-to-right isolate (U+2066 … U+2069), as fmtPercent does a score: after
  // Urdu words the number runs right to left and the sign would land on its far side ("12±").
  'start.accuracy': 'جی پی ایس درستگی \u2066±{accuracy}\u2069 میٹر',
  'start.near': 'تھانے پر موجود — فاصلہ {distance}',
  'start.far': 'تھانے سے دور — فاصلہ {distance}',
  'start.farHint': 'آپ پھر بھی شروع کر سکتے ہیں۔ فاصلہ معائنے کے ساتھ درج ہو گا۔',
  'start.noFix': 'ابھی جی پی ایس مقام نہیں ملا',
  'start.denied': 'مقام کی اجازت بند ہے',
  'start.noFixHint': 'آپ پھر بھی شروع کر سکتے ہیں۔ مقام ملتے ہی درج کر لیا جائے گا۔',
  'start.template': 'چیک لسٹ',
  'start.noTemplate': 'اس تھانے کے لیے کوئی چیک لسٹ اس فون پر نہیں۔',
  'start.withdrawn': 'یہ چیک لسٹ واپس لے لی گئی ہے: اس پر نیا معائنہ شروع نہیں ہو سکتا۔ اپنے نگران سے پوچھیں کہ کون سی چیک لسٹ استعمال کرنی ہے۔',
  'start.openActions': {
    one: 'اس تھانے پر {count} اصلاحی اقدام جانچ طلب ہے۔ یہ فارم میں دکھایا گیا ہے۔',
    other: 'اس تھانے پر {count} اصلاحی اقدامات جانچ طلب ہیں۔ یہ فارم میں دکھائے گئے ہیں۔',
  },
  'start.sips': 'ایس آئی پی ایس',
  'start.begin': 'معائنہ شروع کریں',
  'start.begunHere': 'آپ نے {when} کو اس تھانے کا اسی چیک لسٹ پر معائنہ شروع کیا تھا۔ وہ اس فون پر موجود ہے۔',
  'start.continue': 'وہی معائنہ جاری رکھیں',

  'fill.noTemplate': 'اس معائنے کی چیک لسٹ اس فون پر نہیں۔ ڈاؤن لوڈ کے لیے انٹرنیٹ سے جڑیں۔',
  'fill.templateGone': 'اس چیک لسٹ کا یہ ورژن سرور سے ہٹا دیا گیا ہے، اس لیے یہ معائنہ اب اس فون سے نہ کھولا جا سکتا ہے نہ بھیجا جا سکتا ہے۔ آپ کے جوابات اس فون پر محفوظ ہیں؛ اپنے جائزہ کار کو بتائیں۔',
  'move.title': 'موجودہ چیک لسٹ پر منتقل کریں',
  'move.body': 'جس چیک لسٹ ورژن پر یہ معائنہ بھرا گیا تھا وہ سرور سے ہٹا دیا گیا ہے، اس لیے یہ اس حالت میں نہیں بھیجا جا سکتا۔ اسی چیک لسٹ کا ورژن {version} اس فون پر موجود ہے: اپنے جوابات اور تصاویر اس پر منتقل کریں، انہیں دیکھیں اور دوبارہ جمع کرائیں۔',
  'move.button': 'میرے جوابات ورژن {version} پر منتقل کریں',
  'move.confirmTitle': 'ورژن {version} پر منتقل کریں؟',
  'move.confirmBody': 'یہ معائنہ آپ کے جوابات اور تصاویر سمیت ورژن {version} پر مسودہ بن جائے گا۔ اس کا کچھ بھی ابھی سرور تک نہیں پہنچا۔',
  'move.leftOut': { one: 'یہ آئٹم ورژن {version} میں نہیں ہے۔ اس کا جواب، نوٹ اور تصاویر اس فون سے حذف ہو جائیں گی:', other: 'یہ {count} آئٹم ورژن {version} میں نہیں ہیں۔ ان کے جوابات، نوٹ اور تصاویر اس فون سے حذف ہو جائیں گی:' },
  'move.cleared': { one: 'یہ جواب ورژن {version} میں اپنے آئٹم کے مطابق نہیں؛ اسے دوبارہ دیں (اس کا نوٹ اور تصاویر رہیں گی):', other: 'یہ {count} جوابات ورژن {version} میں اپنے آئٹمز کے مطابق نہیں؛ انہیں دوبارہ دیں (ان کے نوٹ اور تصاویر رہیں گی):' },
  'move.yes': 'منتقل کریں',
  'fill.step': 'حصہ {n} از {total}',
  'fill.steps': 'حصے',
  'fill.progress': '{total} میں سے {done} کے جواب',
  'fill.sectionScore': 'اس حصے کا اسکور {percent}',
  'fill.stillToAnswer': { one: 'اس حصے میں {count} سوال کا جواب باقی ہے', other: 'اس حصے میں {count} سوالات کا جواب باقی ہے' },
  'fill.needPhotos': '{label} — تصاویر {need} میں سے {have}',
  'fill.sectionDone': 'اس حصے کے تمام لازمی سوالات کے جواب ہو گئے',
  'fill.prev': 'پچھلا حصہ',
  'fill.next': 'اگلا حصہ',
  'fill.toReview': 'جائزہ لیں اور جمع کروائیں',

  'answer.yes': 'ہاں', 'answer.no': 'نہیں', 'answer.na': 'لاگو نہیں',
  'item.required': 'لازمی',
  'item.critical': 'انتہائی اہم',
  'item.failed': 'ناکام',
  'item.criticalFailed': 'انتہائی اہم نکتہ ناکام',
  'item.help': 'اس سوال کی وضاحت',
  'item.scaleHint': '0 = سب سے خراب، {max} = بہترین',
  'item.multiHint': 'جو جو درست ہوں سب چنیں',
  'item.clear': 'جواب ہٹائیں',
  'item.range': 'قابلِ قبول: {min} سے {max}',
  'item.rangeMin': 'قابلِ قبول: کم از کم {min}',
  'item.rangeMax': 'قابلِ قبول: زیادہ سے زیادہ {max}',
  'item.notANumber': 'یہ عدد نہیں: صرف ہندسے لکھیں، کسر کے لیے اعشاریہ (مثلاً 12 یا 4.5)',
  'item.addNote': 'نوٹ لکھیں',
  'item.noteFor': 'نوٹ برائے: {label}',

  'photo.camera': 'تصویر کھینچیں',
  'photo.gallery': 'گیلری سے',
  'photo.processing': 'تصویر تیار کی جا رہی ہے…',
  'photo.failed': 'یہ تصویر پڑھی نہیں جا سکی۔ کوئی اور تصویر آزمائیں۔',
  'photo.full': 'تصویر محفوظ نہیں ہوئی: اس فون میں جگہ ختم ہو گئی ہے۔ کچھ جگہ خالی کریں، پھر دوبارہ تصویر کھینچیں۔',
  'photo.tooMany': 'ایک نکتے کے ساتھ زیادہ سے زیادہ {max} تصاویر لگ سکتی ہیں؛ باقی شامل نہیں کی گئیں۔',
  'photo.count': { one: '{count} تصویر', other: '{count} تصاویر' },
  'photo.countOk': 'تصاویر {need} میں سے {have}',
  'photo.countShort': 'تصاویر {need} میں سے {have} — مزید درکار',
  'photo.list': 'تصاویر برائے: {label}',
  'photo.alt': 'تصویر {n}: {label}',
  'photo.onServer': 'سرور پر',
  'photo.delete': 'تصویر حذف کریں',

  'actions.title': 'جانچ طلب اصلاحی اقدامات',
  'actions.item': '{text} (آخری تاریخ {due})',
  'actions.onItem': 'اصلاحی اقدام زیرِ التوا: {text} (آخری تاریخ {due})',
  'actions.itemDone': '{text}: ٹھیک ہونے کی اطلاع ہے — براہِ کرم دیکھ کر تصدیق کریں',
  'actions.onItemDone': 'اصلاحی اقدام کے ٹھیک ہونے کی اطلاع ہے — براہِ کرم دیکھ کر تصدیق کریں: {text}',
  'actions.seenFixed': 'ٹھیک ہوتا دیکھا',
  'actions.checkTitle': 'کیا آپ نے اسے ٹھیک ہوتا دیکھا؟',
  'actions.checkLead': 'جو دیکھا وہ لکھیں۔ فون جب اگلی بار بھیجے گا تو یہ اقدام آپ کے نوٹ کے ساتھ تصدیق شدہ ہو کر بند ہو جائے گا۔',
  'actions.checkNote': 'آپ نے کیا دیکھا؟',
  'actions.noteNeeded': 'پہلے لکھیں کہ آپ نے کیا دیکھا۔',
  'actions.checkConfirm': 'تصدیق کریں',
  'actions.checkQueued': 'تصدیق کی گئی: بھیجنا باقی ہے',
  'actions.checkRefused': 'تصدیق کی گئی، مگر قبول نہیں ہوئی',
  'actions.dropCheck': 'یہ تصدیق ہٹائیں',
  'actions.checkSent': 'تصدیق دفتر کو بھیج دی گئی',
  'actions.closedMeanwhile': 'جس اصلاحی اقدام کی آپ نے تصدیق کی، وہ دفتر پہلے ہی بند کر چکا تھا؛ آپ کا نوٹ شامل نہیں ہوا۔',
  'actions.criticalFailed': 'انتہائی اہم نکتہ ناکام: {item}',
  'actions.sho': 'ایس ایچ او، {station}',

  'review.title': 'جمع کروانے سے پہلے جائزہ',
  'review.statusTitle': 'معائنہ',
  'review.score': 'اسکور',
  'review.grade': 'گریڈ {grade}',
  'review.sectionScores': 'ہر حصے کا اسکور',
  'review.criticalFailed': { one: '{count} انتہائی اہم نکتہ ناکام', other: '{count} انتہائی اہم نکات ناکام' },
  'review.missing': { one: 'جمع کروانے سے پہلے {count} کام باقی', other: 'جمع کروانے سے پہلے {count} کام باقی' },
  'review.fixFirst': 'کسی نکتے پر جانے کے لیے اسے دبائیں۔ سب مکمل ہونے پر جمع کروانے کا بٹن کھل جائے گا۔',
  'review.submit': 'معائنہ جمع کروائیں',
  'review.hiddenPhotos': { one: '{count} تصویر ایسے سوال پر ہے جو آپ کے جوابات کی وجہ سے اب چھپا ہوا ہے۔ یہ بھیجی نہیں جائے گی، اور جمع کروانے پر اس فون سے مٹا دی جائے گی:', other: '{count} تصاویر ایسے سوالوں پر ہیں جو آپ کے جوابات کی وجہ سے اب چھپے ہوئے ہیں۔ یہ بھیجی نہیں جائیں گی، اور جمع کروانے پر اس فون سے مٹا دی جائیں گی:' },
  'review.backToForm': 'فارم پر واپس',
  'review.discard': 'یہ مسودہ حذف کریں',
  'review.discardBody': 'یہ مسودہ کبھی بھیجا نہیں گیا۔ حذف کرنے سے اس کے جوابات اور تصاویر اس فون سے مٹ جائیں گے۔',
  'review.discardYes': 'مسودہ حذف کریں',
  'review.where': 'مقام',
  'review.location': 'جی پی ایس سے درج، درستگی \u2066±{accuracy}\u2069 میٹر',
  'review.finished': 'اس فون پر جمع کروایا گیا {when}',
  'review.serverScore': 'سرور کا حساب کردہ اسکور: {percent}',
  'review.returnedTitle': 'جائزہ کار نے واپس بھیجا',
  'review.itemComments': { one: 'جائزہ کار نے {count} نکتے پر تبصرہ کیا ہے؛ تبصرہ اسی پر دکھایا گیا ہے۔', other: 'جائزہ کار نے {count} نکات پر تبصرہ کیا ہے؛ تبصرے انہی پر دکھائے گئے ہیں۔' },
  'review.commentOnItem': 'جائزہ کار کا تبصرہ',
  'grade.fail': 'ناکام (انتہائی اہم نکتہ ناکام)',

  'attention.title': 'سرور نے اسے رد کر دیا (خرابی {status})',
  'attention.conflictTitle': 'کسی اور جگہ تبدیل ہو چکا',
  'attention.conflictBody': 'سرور پر اس معائنے کا اس سے نیا ورژن موجود ہے جس میں آپ نے ترمیم کی۔ چنیں کہ کون سا رکھنا ہے۔ آپ کے جوابات ابھی اس فون پر موجود ہیں۔',
  'attention.invalidTitle': 'سرور کو مسائل ملے',
  'attention.invalidBody': 'نیچے دیے گئے نکات درست کر کے دوبارہ جمع کروائیں۔ آپ کے جوابات ابھی اس فون پر موجود ہیں۔',
  'attention.server': 'سرور:',
  'attention.needsAnswer': 'جواب درکار ہے',
  'attention.needsPhotos': { one: 'کم از کم {count} تصویر درکار ہے', other: 'کم از کم {count} تصاویر درکار ہیں' },
  'attention.notInChecklist': 'اب اس چیک لسٹ میں شامل نہیں',
  'attention.notAccepted': 'یہ جواب قبول نہیں ہوا؛ دوبارہ جواب دیں',
  'attention.fieldChecklist': 'چیک لسٹ',
  'attention.fieldStation': 'تھانہ',
  'attention.fieldLocation': 'مقام',
  'attention.fieldFinished': 'اختتام کا وقت',
  'attention.placeFixed': 'جمع شدہ معائنے کا مقام تبدیل نہیں ہو سکتا۔ نئے دورے کے لیے نیا معائنہ شروع کریں',
  'attention.finishBeforeStart': 'اختتام کا وقت آغاز کے وقت سے پہلے کا ہے۔ اس فون کی تاریخ اور وقت درست کریں، پھر دوبارہ جمع کروائیں',
  'attention.versionNotOnServer': 'چیک لسٹ کا یہ ورژن سرور پر نہیں ہے۔ انٹرنیٹ سے جڑیں تاکہ اس فون پر سرور والا ورژن آ جائے، پھر اپنے جوابات اس پر منتقل کریں؛ آپ کے جوابات ابھی اس فون پر موجود ہیں',
  'attention.notForStation': 'یہ چیک لسٹ اب اس تھانے پر استعمال نہیں ہوتی۔ آپ کے جوابات ابھی اس فون پر موجود ہیں؛ اپنے نگران کو بتائیں',
  'attention.accessTitle': 'سرور نے یہ آپ سے قبول نہیں کیا',
  'attention.accessBody': 'یہ تھانہ اب سرور پر آپ کے علاقے میں نہیں، یا آپ کا اکاؤنٹ ابھی معائنے نہیں بھیج سکتا۔ سب کچھ اس فون پر محفوظ ہے۔ اپنے منتظم سے کہیں کہ یہ تھانہ آپ کو واپس دے؛ پھر "دوبارہ کوشش کریں" دبائیں (اگلی بار سائن اِن کرنے پر بھی دوبارہ کوشش ہوتی ہے)۔',
  'attention.tryAgain': 'دوبارہ کوشش کریں',
  'attention.choose': 'آپ کیا کرنا چاہتے ہیں؟',
  'attention.keepMine': 'میرا ورژن تازہ ترین کے طور پر بھیجیں',
  'attention.serverFinal': 'اس دوران سرور والا ورژن جمع یا جانچا جا چکا ہے، اس لیے اب اسے اس فون سے بدلا نہیں جا سکتا۔ سرور والا ورژن لے لیں؛ اگر آپ کے جوابات مختلف ہیں تو اپنے جائزہ کار کو بتائیں۔',
  'attention.takeServer': 'سرور والا ورژن لیں',
  'attention.takeServerBody': 'اس فون پر آپ کے جوابات کی جگہ سرور والا ورژن آ جائے گا۔',

  'outbox.title': 'بھیجنے کے منتظر',
  'outbox.lead': 'اسی ترتیب سے بھیجے جاتے ہیں۔ ہر چیز سرور کی تصدیق تک اس فون پر رہتی ہے۔',
  'outbox.empty': 'کچھ باقی نہیں۔ سب سرور پر ہے۔',
  'outbox.nothingQueued': 'بھیجنے کے لیے کچھ منتظر نہیں۔',
  'outbox.retryOffline': 'ابھی نہیں بھیجا گیا: سرور سے رابطہ نہیں۔ فون خود دوبارہ کوشش کرے گا۔',
  'outbox.retryServer': 'ابھی نہیں بھیجا گیا: سرور اس وقت اسے نہیں لے سکا۔ فون خود دوبارہ کوشش کرے گا۔',
  'outbox.draftsTitle': 'اس فون پر مسودے',
  'outbox.draftsLead': 'یہ صرف اس فون پر محفوظ ہیں۔ ہر ایک جمع کرانے پر سرور کو بھیجا جاتا ہے۔',
  'outbox.returnedTitle': 'آپ کو واپس کیے گئے',
  'outbox.returnedLead': 'یہ سرور پر ہیں، جائزہ کار نے درستی کے لیے واپس کیے ہیں۔ جب تک آپ انہیں نہ بدلیں، کچھ نہیں بھیجا جاتا۔',
  'outbox.inspection': 'معائنہ: {station}',
  'outbox.photosLeft': { one: '{count} تصویر بھیجنی باقی ({size})', other: '{count} تصاویر بھیجنی باقی ({size})' },
  'outbox.actionCheck': 'اصلاحی اقدام ٹھیک ہوتا دیکھا: {text}',
  'outbox.sendNow': 'ابھی بھیجیں',
  'outbox.templateGone': 'یہ معائنہ بھیجا نہیں جا سکتا: اس کی چیک لسٹ اب نہ اس فون پر ہے نہ سرور پر۔ آپ کے جوابات اس فون پر محفوظ ہیں؛ اپنے افسر کو بتائیں۔',
  'refused.title': { one: 'سرور نے {count} تصویر قبول نہیں کی', other: 'سرور نے {count} تصاویر قبول نہیں کیں' },
  'refused.body': 'رد کی گئی تصویر دوبارہ بھیجنے سے کچھ نہیں ہوگا۔ اسے ہٹا دیں تو اس معائنے کا باقی حصہ بھیج دیا جائے گا: اس کی باقی تصاویر اور جوابات محفوظ رہیں گے۔',
  'refused.tooLarge': 'یہ تصویر سرور کے لیے بہت بڑی ہے۔',
  'refused.notImage': 'یہ تصویر کی ایسی فائل نہیں جو سرور قبول کرتا ہو۔',
  'refused.unreadable': 'سرور یہ تصویر پڑھ نہیں سکا؛ شاید یہ خراب ہو گئی ہے۔',
  'refused.refused': 'سرور نے یہ تصویر قبول نہیں کی۔',
  'refused.remove': 'یہ تصویر ہٹا دیں',
  'refused.removeTitle': 'یہ تصویر ہٹا دیں؟',
  'refused.removeBody': 'یہ اس فون سے حذف ہو جائے گی۔ سرور نے اسے کبھی لیا ہی نہیں، اس لیے وہاں بھی نہیں ہے۔ اس کے سوا کچھ حذف نہیں ہوگا: معائنے کی باقی تصاویر اور جوابات پھر بھیج دیے جائیں گے۔',
  'refused.removeYes': 'تصویر ہٹائیں',
  'refused.removedNote': {
    one: 'سرور نے جو {count} تصویر قبول نہیں کی تھی وہ اس فون سے ہٹا دی گئی۔ معائنہ پہلے ہی جمع ہو چکا تھا، اس لیے آپ کے جائزہ کار کو یہ تصویر غائب نظر آئے گی۔ اگر وہ معائنہ واپس کریں تو آپ ان نکات کے لیے نئی تصویر کھینچ سکتے ہیں:',
    other: 'سرور نے جو {count} تصاویر قبول نہیں کی تھیں وہ اس فون سے ہٹا دی گئیں۔ معائنہ پہلے ہی جمع ہو چکا تھا، اس لیے آپ کے جائزہ کار کو یہ تصاویر غائب نظر آئیں گی۔ اگر وہ معائنہ واپس کریں تو آپ ان نکات کے لیے نئی تصاویر کھینچ سکتے ہیں:',
  },

  'settings.title': 'ترتیبات',
  'settings.account': 'اکاؤنٹ',
  'settings.digits': 'ہندسے',
  'settings.digitsLatn': 'انگریزی 123',
  'settings.digitsUrdu': 'اردو ۱۲۳',
  'settings.language': 'زبان',
  'settings.data': 'تھانے اور چیک لسٹیں',
  'settings.updated': 'آخری بار اپ ڈیٹ {when}',
  'settings.never': 'ابھی ڈاؤن لوڈ نہیں ہوئیں',
  'settings.counts': 'اس فون پر {stations} تھانے، {templates} چیک لسٹیں',
  'settings.refresh': 'ابھی اپ ڈیٹ کریں',
  'settings.refreshed': 'سب تازہ ہے۔',
  'storage.title': 'اس فون میں جگہ',
  'storage.used': 'معائنہ {used} استعمال کر رہا ہے',
  'storage.free': 'معائنہ کے لیے خالی جگہ: {free}',
  'storage.persisted': 'محفوظ: فون معائنہ کا ڈیٹا خود سے نہیں مٹائے گا',
  'storage.notPersisted': 'غیر محفوظ: جگہ کم ہونے پر فون ڈیٹا مٹا سکتا ہے',
  'storage.ask': 'میرا ڈیٹا محفوظ کریں',
  'storage.denied': 'براؤزر نے اجازت نہیں دی۔ معائنہ کو ہوم اسکرین پر انسٹال کرنے سے عموماً مل جاتی ہے۔',
  'password.heading': 'پاس ورڈ',
  'password.settingsHint': 'پاس ورڈ تبدیل کرنے سے آپ باقی تمام فونز اور کمپیوٹرز سے سائن آؤٹ ہو جائیں گے۔',
  'password.open': 'پاس ورڈ تبدیل کریں',
  'password.title': 'پاس ورڈ تبدیل کریں',
  'password.lead': 'ایسا نیا پاس ورڈ منتخب کریں جو صرف آپ کو معلوم ہو۔ یہاں آپ سائن اِن رہیں گے؛ باقی ہر جگہ سے آپ سائن آؤٹ ہو جائیں گے اور نئے پاس ورڈ سے سائن اِن کریں گے۔',
  'password.needsNetwork': 'اس کے لیے انٹرنیٹ ضروری ہے۔ بعد میں بھیجنے کے لیے فون میں کچھ محفوظ نہیں کیا جاتا۔',
  'password.current': 'موجودہ پاس ورڈ',
  'password.new': 'نیا پاس ورڈ',
  'password.newHint': 'کم از کم 8 حروف، اور موجودہ پاس ورڈ سے مختلف۔',
  'password.again': 'نیا پاس ورڈ دوبارہ',
  'password.submit': 'پاس ورڈ تبدیل کریں',
  'password.required': 'اپنا موجودہ پاس ورڈ درج کریں۔',
  'password.wrong': 'یہ آپ کا موجودہ پاس ورڈ نہیں ہے۔',
  'password.short': 'کم از کم 8 حروف استعمال کریں۔',
  'password.long': 'زیادہ سے زیادہ 256 حروف استعمال کریں۔',
  'password.same': 'نیا پاس ورڈ موجودہ پاس ورڈ سے مختلف ہونا چاہیے۔',
  'password.mismatch': 'دونوں نئے پاس ورڈ ایک جیسے نہیں۔',
  'password.offline': 'رابطہ نہیں ہے: آپ کا پاس ورڈ تبدیل نہیں ہوا۔ فون آن لائن ہو تو دوبارہ کوشش کریں۔',
  'password.throttled': 'یہاں بہت زیادہ غلط پاس ورڈ درج ہوئے۔ دوبارہ کوشش کے لیے سائن آؤٹ کر کے پھر سائن اِن کریں۔',
  'password.conflict': 'اس دوران منتظم نے آپ کا پاس ورڈ دوبارہ مقرر کر دیا ہے۔ دوبارہ سائن اِن کریں۔',
  'password.done': 'آپ کا پاس ورڈ تبدیل ہو گیا ہے۔ اگلی بار سائن اِن کرتے وقت نیا پاس ورڈ استعمال کریں۔ آپ کے نام سے سائن اِن باقی تمام فونز اور کمپیوٹرز سائن آؤٹ کر دیے گئے ہیں۔',
  'password.back': 'ترتیبات پر واپس جائیں',
  'password.later': 'اپنے کام پر جائیں؛ پاس ورڈ بعد میں منتخب کروں گا',
  'password.mustChange': 'آپ کا پاس ورڈ منتظم نے مقرر کیا تھا۔ آگے بڑھنے کے لیے اپنا پاس ورڈ خود منتخب کریں۔',
  'password.mustChangeCurrent': 'آپ کا موجودہ پاس ورڈ وہی ہے جو منتظم نے آپ کو دیا تھا۔',
  'password.signOutInstead': 'اس کے بجائے سائن آؤٹ کریں (ترتیبات میں)',
  'signout.title': 'سائن آؤٹ',
  'signout.button': 'اس فون سے سائن آؤٹ کریں',
  'signout.refused': 'ابھی سائن آؤٹ نہیں ہو سکتا: کچھ کام صرف اس فون پر ہے۔ پہلے اسے مکمل کر کے بھیجیں، پھر سائن آؤٹ کریں۔',
  'signout.desk': {
    one: 'یہاں شروع کیا گیا {count} جائزہ یا فارم کی تبدیلی ابھی بھیجی نہیں گئی۔ سائن آؤٹ کرنے سے یہ اس آلے سے حذف ہو جائے گی۔',
    other: 'یہاں شروع کیے گئے {count} جائزے یا فارم کی تبدیلیاں ابھی بھیجی نہیں گئیں۔ سائن آؤٹ کرنے سے یہ اس آلے سے حذف ہو جائیں گی۔',
  },
  'signout.returned': {
    one: '{count} معائنہ درستی کے لیے آپ کو واپس کیا گیا ہے۔ وہ سرور پر رہے گا اور دوبارہ سائن اِن کرنے پر اس فون پر واپس آ جائے گا۔',
    other: '{count} معائنے درستی کے لیے آپ کو واپس کیے گئے ہیں۔ وہ سرور پر رہیں گے اور دوبارہ سائن اِن کرنے پر اس فون پر واپس آ جائیں گے۔',
  },
};

export const dictionaries = { en, ur };

// A role's screens keep their words beside them (views/<role>/strings.js, {en: {...}, ur: {...}})
// and merge them in here when they load, so t() still reads one table and other roles' phones
// never parse those strings. A key already in the table keeps its first meaning.
export function addStrings(table) {
  for (const [language, entries] of Object.entries(table)) {
    const target = dictionaries[language];
    if (!target) continue;
    for (const [key, value] of Object.entries(entries)) if (!(key in target)) target[key] = value;
  }
}
const LOCALES = { en: 'en-PK', ur: 'ur-PK' };

let lang = 'en';
// Urdu's digits: Western (123, the default, as officers read figures) or Urdu (۱۲۳), as the person chooses.
let digits = 'latn';
const DIGITS = new Set(['latn', 'arabext']);
const listeners = new Set();

export const getLang = () => lang;
const locale = () => `${LOCALES[lang]}-u-nu-${lang === 'ur' ? digits : 'latn'}`;
export const getDigits = () => digits;

export function t(key, vars = {}) {
  let s = dictionaries[lang][key] ?? en[key] ?? key;
  if (typeof s === 'object') s = s[new Intl.PluralRules(locale()).select(vars.count ?? 0)] ?? s.other;
  return s.replace(/\{(\w+)\}/g, (m, name) => {
    const v = vars[name];
    if (v === undefined || v === null) return '';
    return typeof v === 'number' ? fmtNumber(v) : String(v);
  });
}

// The server writes its problems in English. A screen says those it knows in the person's language:
// `messages` pairs a pattern with a key, whose {a} and {b} are the pattern's groups as `fill` words
// them. Any other message comes back as it is.
export function sayKnown(messages, message, fill = (x) => x) {
  for (const [re, key] of messages) {
    const m = re.exec(message || '');
    if (m) return t(key, { a: m[1] === undefined ? '' : fill(m[1]), b: m[2] === undefined ? '' : fill(m[2]) });
  }
  return message;
}

// What a screen says for a failed request (an ApiError): by status for what any request can meet,
// a known message in the person's words, and otherwise the server's sentence as it is, in Urdu after
// one saying the server refused, so what an IT officer would search for is still on the screen.
// `keys` lets a role word the common cases its own way, and say 404, 403 and a bare 409 in words of
// its own rather than the server's sentence.
export function problemText(err, { messages = [], fill, keys = {} } = {}) {
  const k = { offline: 'error.offline', signedOut: 'error.signedOut', busy: 'error.busy', ...keys };
  if (!err) return t('error.generic');
  const { status } = err;
  // The connection broke while the reply was arriving: the server had taken the request.
  if (err.cutOff) return t(err.cutOff === 'download' ? 'error.downloadCutOff' : 'error.cutOff');
  if (status === 0) return t(k.offline);
  if (status === 401) return t(k.signedOut);
  if (status === 429 || status >= 500) return t(k.busy);
  const detail = err.detail || err.message || '';
  const said = sayKnown(messages, detail, fill);
  if (said !== detail) return said;
  if (status === 404 && k.notFound) return t(k.notFound);
  if (status === 403 && k.forbidden) return t(k.forbidden);
  if (status === 409 && !err.detail && k.conflict) return t(k.conflict);
  if (!detail) return t('error.generic');
  return lang === 'en' ? detail : `${t('error.refused')} (${detail})`;
}

// Template text: {en, ur} in the chosen language, falling back to the other one.
export function tx(text) {
  if (!text) return '';
  if (typeof text === 'string') return text;
  return text[lang] || text.en || text.ur || '';
}

// A corrective action's description and owner in the reader's language. When a submission opens an
// action the server stores English words ("Critical item failed: …", "SHO, …") for exports and older
// phones, and says by `description_kind` / `owner_kind` that they are still its own words: those are
// composed here from the item's label and the station's name in both languages. Whatever a person
// typed (or changed) has no kind and is shown as typed. `station` is the action's station ({name});
// the reviewer's rows carry it, a bundle row is given it by the caller.
export function actionDescription(a) {
  if (a?.description_kind === 'critical_item_failed') return t('actions.criticalFailed', { item: tx(a.item_label) || a.item_key || '' });
  return a?.description || '';
}

// An action's due date as the person reads dates; a dash when it has none.
export function actionDue(a) {
  return a?.due_date ? fmtDate(a.due_date) : '—';
}

export function actionOwner(a, station = a?.station) {
  if (a?.owner_kind === 'station_sho' && station?.name) return t('actions.sho', { station: tx(station.name) });
  return a?.owner_name || '';
}

// A plain number's formatter is kept per locale: building one per call cost more than the rest of
// an admin outline's redraw.
const plainNumbers = new Map();
export function fmtNumber(n, opts) {
  if (opts) return new Intl.NumberFormat(locale(), opts).format(n);
  const at = locale();
  if (!plainNumbers.has(at)) plainNumbers.set(at, new Intl.NumberFormat(at));
  return plainNumbers.get(at).format(n);
}

// The force works on Pakistan's clock. Times are shown, and days counted, in Pakistan time whatever
// zone the device is set to, as the PDF, the Excel export and the dashboards' months have them: an
// office laptop left on UTC would otherwise say 04:30 for a submission the PDF says came at 09:30, and
// start "today" five hours late.
export const ZONE = 'Asia/Karachi';
const dayParts = new Intl.DateTimeFormat('en-US', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });

// The day of Pakistan's calendar an instant falls on (now by default), written YYYY-MM-DD.
export function pakistanDay(at = new Date()) {
  const part = Object.fromEntries(dayParts.formatToParts(at).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day}`;
}

// A calendar day (YYYY-MM-DD) `n` days after another.
export function addDays(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

// A month of a year ("Nov 2026"), as the dashboards label their periods.
export const fmtMonth = (year, month) => new Intl.DateTimeFormat(locale(), { month: 'short', year: 'numeric', timeZone: 'UTC' })
  .format(new Date(Date.UTC(year, month - 1, 1)));

// A time as a camera wrote it (EXIF): the wall-clock time with no zone, shown as it is, not moved
// into the phone's zone. One with an offset is an instant like any other.
export function fmtWallTime(text) {
  if (!text) return '';
  if (/(Z|[+-]\d\d:?\d\d)$/.test(text)) return fmtDateTime(text);
  const d = new Date(`${text}Z`);
  return Number.isNaN(d.getTime()) ? String(text)
    : new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC', ...clock() }).format(d);
}

// A number as typed on a phone: Western, Urdu (۰–۹) or Arabic (٠–٩) digits, a point or the Arabic
// decimal separator (٫), commas (the Urdu keyboard's ، too) only between groups as Pakistan writes
// them (1,250 and 1,25,000; "1,5" is refused, not read as 15), a leading minus of either kind, spaces
// around it, and the direction marks an Urdu keyboard slips in. Returns the number, null for nothing
// typed, or NaN for what is not one (two numbers with a space between, a number too large to hold).
// A browser's own number field drops Urdu digits without a word, so number answers are text fields
// read through this.
const FOREIGN_DIGITS = /[\u06F0-\u06F9\u0660-\u0669]/g;
const DIRECTION_MARKS = /[\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]/g;
const NUMERAL = /^[-+]?(\d{1,3}(,\d{3})+|\d{1,2}(,\d{2})+,\d{3}|\d+)?(\.\d*)?$/;
export function readNumber(text) {
  const raw = String(text ?? '').replace(DIRECTION_MARKS, '').trim()
    .replace(FOREIGN_DIGITS, (d) => String((d.charCodeAt(0) - 0x0660) % 0x90))
    .replace(/\u066B/g, '.').replace(/[\u066C\u060C]/g, ',').replace(/^\u2212/, '-');
  if (!raw) return null;
  if (!NUMERAL.test(raw) || !/\d/.test(raw)) return NaN;
  const n = Number(raw.replace(/,/g, ''));
  return Number.isFinite(n) ? n : NaN;
}

// A stored number put back into a number field, in the digits the person reads: as typed, never a
// grouping comma, a locale's own sign or an exponent (1e-7), which readNumber would refuse.
const PLAIN = new Intl.NumberFormat('en-US', { useGrouping: false, maximumFractionDigits: 20 });
export function inputNumber(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '';
  const text = PLAIN.format(n);
  return lang === 'ur' && digits === 'arabext' ? text.replace(/\d/g, (d) => String.fromCharCode(0x06F0 + Number(d))) : text;
}

// A number with a sign beside it (a score's %, an accuracy's ±), kept in reading order on Urdu
// screens. There the words around it run right to left and turn its digits into "Arabic numbers"
// (Unicode bidi), which lets the sign drift to the far side ("%40.0"); a left-to-right isolate
// (U+2066 … U+2069) keeps number and sign together, Western or Urdu digits alike. English needs none.
export const isolated = (text) => (lang === 'ur' ? `\u2066${text}\u2069` : text);

// Percentages go through scoring.displayPercent, the same half-up rounding as the server.
export function fmtPercent(p) {
  const shown = displayPercent(p);
  if (shown === null) return '—';
  return isolated(`${fmtNumber(Number(shown), { minimumFractionDigits: 1, maximumFractionDigits: 1 })}%`);
}

// Intl's Urdu writes the 12-hour clock with a Latin "AM" / "PM"; Urdu screens use the 24-hour one.
const clock = () => (lang === 'ur' ? { hourCycle: 'h23' } : {});

// A calendar day (YYYY-MM-DD) is shown as that day; an instant as its day in Pakistan.
export function fmtDate(value) {
  const day = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
  const d = day ? new Date(`${value}T00:00:00Z`) : new Date(value);
  return Number.isNaN(d.getTime()) ? String(value)
    : new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: day ? 'UTC' : ZONE }).format(d);
}

export function fmtDateTime(value) {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? ''
    : new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: ZONE, ...clock() }).format(d);
}

// The time of day in Pakistan alone (09:05), for a span within one day.
export function fmtClock(value) {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : new Intl.DateTimeFormat(locale(), { timeStyle: 'short', timeZone: ZONE, ...clock() }).format(d);
}

export function fmtDistance(m) {
  return m >= 1000
    ? fmtNumber(m / 1000, { style: 'unit', unit: 'kilometer', maximumFractionDigits: 1 })
    : fmtNumber(Math.round(m), { style: 'unit', unit: 'meter' });
}

// A distance with ± before it (a GPS accuracy): the sign and the number keep together as one
// left-to-right run on Urdu screens (isolated), and the unit stays a word of the sentence, read after
// the number.
export function fmtPlusMinus(m) {
  return fmtDistance(m).replace(/[0-9\u06F0-\u06F9\u0660-\u0669][0-9\u06F0-\u06F9\u0660-\u0669.,\u066B\u066C]*/, (n) => isolated(`±${n}`));
}

export function fmtBytes(b) {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i += 1; }
  // Urdu's short units are Latin ("kB", "GB"); its long ones are Urdu words (کلوبائٹس).
  return fmtNumber(b, { style: 'unit', unit: units[i], maximumFractionDigits: i ? 1 : 0, unitDisplay: lang === 'ur' ? 'long' : 'short' });
}

function apply() {
  const html = document.documentElement;
  html.lang = lang;
  html.dir = lang === 'ur' ? 'rtl' : 'ltr';
}

export async function initLang() {
  const saved = await kv.get('lang').catch(() => null);
  lang = saved || (navigator.language?.startsWith('ur') ? 'ur' : 'en');
  const chosen = await kv.get('digits').catch(() => null);
  if (DIGITS.has(chosen)) digits = chosen;
  apply();
}

// Which digits Urdu screens write numbers, dates and scores with; every screen is drawn again. As for
// the language (setLang), the screens are drawn first and the choice is kept afterwards.
export async function setDigits(next) {
  if (!DIGITS.has(next) || next === digits) return;
  digits = next;
  for (const fn of listeners) fn(lang);
  await keep('digits', next);
}

// The screens are drawn again in the same task as `dir` changes, and the choice is kept afterwards: the
// page never shows right to left with English words while the choice is being written (a test caught
// the sync badge so), and a phone whose storage is full still switches (it forgets the choice at the
// next start).
export async function setLang(next) {
  if (!dictionaries[next] || next === lang) return;
  lang = next;
  apply();
  for (const fn of listeners) fn(lang);
  await keep('lang', next);
}

// A choice that cannot be written (the phone's storage is full) holds until the app is closed.
async function keep(key, value) {
  try {
    await kv.set(key, value);
  } catch (err) {
    console.warn(`the ${key} choice could not be kept`, err);
  }
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
